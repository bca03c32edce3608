"""What several test files share: the flights every shipped data set was trained on, regenerated once per test file,
and those flights scaled as a data set was trained on them."""
import pytest

from helpers import data, ensemble as E, pipeline, run as R, snapshot as S
from helpers import tasks

#: How many dense batches of network 0 are re-trained (``test_reference_data.py``); the regenerated training rows
#: cover them.
RETRAIN = 500


@pytest.fixture(scope="module")
def flights():
    """The raw flights every shipped data set was trained on (the same seeds: ``test_reference_data.py`` checks it):
    the first n_eval validation and test rows, and the training rows of the first dense batches and of every state's
    B4 slice. Simulated once per clone and kept as an artifact (keyed by the rows and the helper code), so that every
    test file that needs them, on whichever worker, reads the same rows."""
    reference = S.load("reference")
    params = reference.provenance["params"]
    n_train = max(RETRAIN * E.BATCH, reference.n_states * R.TRAIN_SLICE)
    counts = {"train": n_train, "val": max(params["n_eval"], RETRAIN * E.BATCH), "test": params["n_eval"]}
    key = dict(n_trajectories=params["n_trajectories"], data_seed=params["data_seed"], counts=counts)
    folder = pipeline.artifact_dir("first-rows", key)

    def build(folder):
        rows = data.first_rows_of_splits(params["n_trajectories"], params["data_seed"], counts)
        pipeline.save_npz(folder / "rows.npz", **{f"{split}_{part}": array for split, pair in rows.items()
                                                  for part, array in zip(("x", "y"), pair)})

    pipeline.build_once(folder, ("rows.npz",), build)
    stored = pipeline.load_npz(folder / "rows.npz")
    return {split: (stored[f"{split}_x"], stored[f"{split}_y"]) for split in counts}


def scaled_rows(ref, flights):
    """The raw ``flights`` scaled as ``ref`` was trained on them: its scaler, and the targets of its task."""
    params, sc = ref.provenance["params"], ref.scaler
    task = params.get("task", "flight")
    return {split: (data.scale(x, sc["x_min"], sc["x_max"]),
                    data.scale(tasks.raw_outputs(task, x, y, params["data_seed"], sc["x_min"], sc["x_max"]),
                               sc["y_min"], sc["y_max"]))
            for split, (x, y) in flights.items()}
