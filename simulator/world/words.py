"""The word lists that names, synopses, profiles and tone keywords are drawn from.

Data only: generation (:mod:`simulator.world.generation`) picks from these with its seeded
generator, so changing a list (or its order) changes every world generated from a seed.
"""

from __future__ import annotations

TONE_WORDS: list[tuple[str, str]] = [
    ("dark", "light-hearted"),
    ("fast-paced", "slow-burning"),
    ("offbeat", "classic"),
]
"""(positive, negative) keyword of each unlabelled axis, shown when the projection is large."""

GENRE_WORD: dict[str, str] = {
    "Action": "action",
    "Adventure": "adventure",
    "Animation": "animated",
    "Comedy": "comedy",
    "Crime": "crime",
    "Documentary": "documentary",
    "Drama": "drama",
    "Family": "family",
    "Fantasy": "fantasy",
    "Horror": "horror",
    "Romance": "romance",
    "Sci-Fi": "sci-fi",
    "Thriller": "thriller",
}
"""How a synopsis names each genre ("An animated comedy series in which ...")."""

GENRE_PLOT: dict[str, list[str]] = {
    "Action": [
        "races to stop a heist before the city goes dark",
        "fights back against a mercenary army",
    ],
    "Adventure": [
        "sets out on a journey across uncharted islands",
        "hunts for a lost treasure map",
    ],
    "Animation": [
        "befriends a talking robot in a painted world",
        "learns to fly with a flock of odd birds",
    ],
    "Comedy": [
        "fakes a wedding to save the family bakery",
        "swaps jobs with a very strange neighbour",
    ],
    "Crime": [
        "investigates a murder in a quiet harbour town",
        "plans one last robbery with an old crew",
    ],
    "Documentary": [
        "follows the true story of a record-breaking expedition",
        "explores the hidden life of coral reefs",
    ],
    "Drama": ["returns home to face a broken family", "struggles to keep a small school open"],
    "Family": [
        "spends a magical summer with grandparents on a farm",
        "rescues a lost puppy before the holidays",
    ],
    "Fantasy": [
        "discovers a dragon egg beneath an ancient castle",
        "is chosen by a wizard to break a curse",
    ],
    "Horror": [
        "is haunted by something in the old lake house",
        "hears whispers from a sealed cellar",
    ],
    "Romance": [
        "falls in love during a rainy summer in Lisbon",
        "rekindles a first love at a friend's wedding",
    ],
    "Sci-Fi": [
        "wakes on a space station drifting toward a distant planet",
        "builds an android that starts to dream",
    ],
    "Thriller": [
        "uncovers a conspiracy inside a tech company",
        "is hunted by a stranger who knows every secret",
    ],
}
"""Plot lines per genre; a synopsis uses one of one of the title's genres."""

SUBJECTS = [
    "a young pilot", "a retired detective", "two estranged sisters", "a stubborn engineer",
    "a small-town teacher", "a brilliant chef", "a reluctant heir", "a group of friends",
    "a lonely inventor", "a single father", "a rookie reporter", "an aging boxer",
    "a curious girl", "a runaway prince", "a night-shift nurse", "a former spy",
]  # fmt: skip
"""Who a synopsis is about."""

ADJECTIVES = [
    "Silent", "Hidden", "Broken", "Golden", "Last", "Crimson", "Wild", "Distant", "Midnight",
    "Frozen", "Burning", "Lost", "Endless", "Secret", "Hollow", "Electric", "Quiet", "Savage",
    "Little", "Northern", "Paper", "Iron", "Velvet", "Neon", "Falling", "Stolen", "Bright",
]  # fmt: skip
NOUNS = [
    "Harbor", "Kingdom", "Signal", "Garden", "Protocol", "Horizon", "Orchard", "Frontier",
    "Circus", "Empire", "River", "Mirror", "Lantern", "Station", "Summer", "Echo", "Crown",
    "Forest", "Letter", "Machine", "Island", "Canyon", "Promise", "Shadow", "Voyage", "Heart",
]  # fmt: skip
PLACES = [
    "Avalon", "the North", "Brightwater", "the Deep", "Stonebridge", "Mars", "the Valley",
    "Ashford", "the Tides", "Kestrel Bay", "Old Town", "the Dunes",
]  # fmt: skip
"""Title names are patterns of an adjective, a noun and a place ("Echo of Avalon")."""

ADULT_NAMES = [
    "Ann", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Will", "Xenia", "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Dmitri", "Eva", "Felix",
]  # fmt: skip
KIDS_NAMES = ["Kids", "Mia", "Leo", "Lily", "Max", "Emma", "Tom", "Nora", "Finn", "Ella"]
"""Profile names: an account's adults draw distinct adult names, its kids profile a kids name."""
