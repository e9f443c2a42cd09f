import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def one_torch_thread():
    """Train on one thread: on a shared 2-core machine, two OpenMP threads run many times
    slower whenever another process holds a core, and these models are too small to gain."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
