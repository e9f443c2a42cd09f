import numpy as np

from recommender.features import cyclic_time, days_in_catalog, release_age, time_since

MONDAY_MIDNIGHT = 1_704_067_200.0  # 2024-01-01 00:00 UTC was a Monday
HOUR = 3600.0


def test_cyclic_time_puts_hours_and_weekdays_on_circles():
    f = cyclic_time([MONDAY_MIDNIGHT, MONDAY_MIDNIGHT + 6 * HOUR, MONDAY_MIDNIGHT + 7 * 24 * HOUR])
    assert f.shape == (3, 4) and f.dtype == np.float32
    np.testing.assert_allclose(f[0], [0, 1, 0, 1], atol=1e-6)  # midnight, start of the week
    np.testing.assert_allclose(f[1, :2], [1, 0], atol=1e-6)  # 06:00 is a quarter day
    np.testing.assert_allclose(f[2], f[0], atol=1e-5)  # a week later: the same point
    near = cyclic_time([MONDAY_MIDNIGHT - 60, MONDAY_MIDNIGHT + 60])
    assert np.abs(near[0] - near[1]).max() < 0.01  # 23:59 Sunday is next to 00:01 Monday


def test_time_since_is_log_hours_and_never_negative():
    out = time_since(np.array([10 * HOUR, 0.0]), np.array([HOUR, 5 * HOUR]))
    np.testing.assert_allclose(out, [np.log1p(9.0), 0.0], rtol=1e-6)


def test_days_in_catalog_and_release_age_keep_unknown_as_nan():
    days = days_in_catalog(MONDAY_MIDNIGHT, [MONDAY_MIDNIGHT - 3 * 86400, np.nan, 2e9])
    np.testing.assert_allclose(days[[0, 2]], [3.0, 0.0])
    assert np.isnan(days[1])
    age = release_age(MONDAY_MIDNIGHT, [2020.0, np.nan])
    assert 3.4 < age[0] < 3.6 and np.isnan(age[1])


def test_cyclic_time_of_one_time_is_the_array_paths_bit_for_bit():
    """One time (a page's) takes a path on Python floats: the same float32 bits as the
    array path gives that time."""
    rng = np.random.default_rng(0)
    times = [
        *rng.uniform(-1e9, 2e9, 3000).tolist(),
        *np.round(rng.uniform(1.7e9, 1.8e9, 3000), 6).tolist(),
        *np.arange(0.0, 8 * 24 * HOUR, 599.0).tolist(),
        1_764_633_600,  # an int
    ]
    one = np.stack([cyclic_time(t) for t in times])
    arrays = np.stack([cyclic_time(np.asarray(t, np.float64)) for t in times])  # 0-d arrays
    assert one.dtype == arrays.dtype == np.float32
    np.testing.assert_array_equal(one.view(np.uint32), arrays.view(np.uint32))
