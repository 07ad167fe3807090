"""The Dockerfile, checked statically, its entrypoint run exactly as a Vertex AI tuning trial
runs it, and the built image run as that trial (with buildah: no Docker engine runs here).

``.ci/build-image`` builds the image and runs ``test_image_as_a_tuning_trial`` with
``TRAINER_IMAGE`` naming it; without an image that test is skipped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    """Each ``name`` instruction's arguments, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return re.findall(rf"^{name}\s+(.+)$", joined, flags=re.MULTILINE)


def test_entrypoint_is_the_trainer() -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    assert json.loads(entrypoint) == ["python", "-m", "trainer.train"]


def test_base_image_is_a_pinned_build_argument() -> None:
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILE, flags=re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", default), default
    assert _instructions("FROM") == ["${BASE_IMAGE}"]


def test_pip_certificate_is_a_build_argument_never_kept() -> None:
    assert "PIP_CERT" in _instructions("ARG")
    assert "PIP_CERT" not in " ".join(_instructions("ENV"))
    assert not [line for line in _instructions("COPY") + _instructions("ADD") if "cert" in line]


def test_runs_as_a_non_root_user_after_installing() -> None:
    lines = DOCKERFILE.splitlines()
    user_line = next(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert lines[user_line].split()[1] not in ("root", "0")
    last_install = max(i for i, line in enumerate(lines) if "pip install" in line)
    assert last_install < user_line


def test_copies_only_the_packages() -> None:
    copied = {line.split()[0] for line in _instructions("COPY")}
    assert copied == {"pyproject.toml", "model_space/", "trainer/", "search/"}
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"studies", "tests", ".venv", ".git", "**/__pycache__"} <= set(ignored)


def _trial_args_from_the_job_spec(
    tmp_path: Path, *, subset: int = 200, validation_size: int = 100
) -> list[str]:
    """The container args of the tuning job this project submits (one epoch), then one value per
    spec as Vertex appends them (``--<parameter_id>=<value>``): the first listed value, an
    integer's minimum, a float's midpoint."""
    from google.auth.credentials import AnonymousCredentials

    from search.study_config import StudyConfig
    from search.vertex.job import TuningJobSettings, build_tuning_job

    config = StudyConfig(
        name="container",
        epochs=1,
        subset=subset,
        validation_size=validation_size,
        studies_dir=tmp_path,
    )
    settings = TuningJobSettings(image_uri="trainer:test", base_output_dir="gs://bucket/tuning")
    job = build_tuning_job(config, settings, credentials=AnonymousCredentials())._gca_resource
    args = list(job.trial_job_spec.worker_pool_specs[0].container_spec.args)
    for spec in job.study_spec.parameters:
        if spec.categorical_value_spec.values:
            value = spec.categorical_value_spec.values[0]
        elif spec.discrete_value_spec.values:
            value = spec.discrete_value_spec.values[0]
        elif "integer_value_spec" in spec:
            value = spec.integer_value_spec.min_value
        else:
            value = (spec.double_value_spec.min_value + spec.double_value_spec.max_value) / 2
        args.append(f"--{spec.parameter_id}={value}")
    return args


@pytest.mark.slow
def test_entrypoint_as_a_tuning_trial(tmp_path: Path) -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    command = json.loads(entrypoint)
    command[0] = sys.executable
    trial_args = _trial_args_from_the_job_spec(tmp_path)
    assert "--hypertune" in trial_args and "--filters=16-32-64" in trial_args
    env = {
        **os.environ,
        "AIP_MODEL_DIR": str(tmp_path / "trial-3" / "model"),
        "CLOUD_ML_TRIAL_ID": "3",
        "CLOUD_ML_HP_METRIC_FILE": str(tmp_path / "hypertune" / "output.metrics"),
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    result = subprocess.run(
        [*command, *trial_args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    exported = tmp_path / "trial-3" / "model"
    assert {"saved_model.pb", "model.keras", "metadata.json"} <= {
        p.name for p in exported.iterdir()
    }
    metadata = json.loads((exported / "metadata.json").read_text())
    assert metadata["params"]["filters"] == "16-32-64" and metadata["params"]["units"] == 128
    assert metadata["params"]["batch_size"] == 32 and metadata["settings"]["subset"] == 200
    report = json.loads((tmp_path / "hypertune" / "output.metrics").read_text().splitlines()[-1])
    assert report["trial"] == "3"
    assert float(report["val_accuracy"]) == metadata["validation"]["best_epoch_accuracy"]


TRAINER_IMAGE = os.environ.get("TRAINER_IMAGE", "")
DEBIAN_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _buildah(*args: str) -> str:
    return subprocess.run(
        ["buildah", *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def _copies_of(bundle: Path, root: Path) -> list[str]:
    """Files under ``root`` with the bytes of ``bundle`` (the CA bundle the build was given),
    other than the image's own Debian bundle when the two are the same (a stock machine)."""
    content = bundle.read_bytes()
    own = root / DEBIAN_CA_BUNDLE.lstrip("/")
    if own.is_file() and own.read_bytes() == content:
        return []
    copies = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            same_size = path.is_file() and path.stat().st_size == len(content)
            if same_size and not path.is_symlink() and path.read_bytes() == content:
                copies.append(f"/{path.relative_to(root)}")
    return copies


def test_a_copied_ca_bundle_is_found(tmp_path: Path) -> None:
    bundle = tmp_path / "machine.crt"
    bundle.write_bytes(b"-----BEGIN CERTIFICATE-----\nproxy\n-----END CERTIFICATE-----\n")
    image = tmp_path / "image"
    (image / "etc/ssl/certs").mkdir(parents=True)
    (image / "etc/ssl/certs/ca-certificates.crt").write_bytes(b"debian's own bundle")
    (image / "opt").mkdir()
    (image / "opt/same-size.pem").write_bytes(b"x" * len(bundle.read_bytes()))
    assert _copies_of(bundle, image) == []
    (image / "opt/pip.pem").write_bytes(bundle.read_bytes())
    assert _copies_of(bundle, image) == ["/opt/pip.pem"]
    # A stock machine's bundle is the image's own: nothing of the machine's to leak.
    (image / "etc/ssl/certs/ca-certificates.crt").write_bytes(bundle.read_bytes())
    assert _copies_of(bundle, image) == []


#: Prints the search's extras found in the image (there should be none).
NOT_IN_THE_IMAGE_CHECK = (
    "import importlib.util as u; "
    "print(*[m for m in ('mlflow', 'plotly', 'keras_tuner', 'psycopg') if u.find_spec(m)])"
)


@pytest.mark.slow
@pytest.mark.skipif(
    not TRAINER_IMAGE, reason="no image: .ci/build-image builds one and runs this test on it"
)
def test_image_as_a_tuning_trial(tmp_path: Path, fashion) -> None:
    """The built image, run as Vertex runs a tuning trial: its own entrypoint and user, the job
    spec's container args plus one value per parameter, AIP_MODEL_DIR, CLOUD_ML_TRIAL_ID and
    CLOUD_ML_HP_METRIC_FILE; a 1-epoch trial on 1,000 images with the data baked in."""
    import keras
    import numpy as np
    import tensorflow as tf

    config = json.loads(_buildah("inspect", "--type", "image", TRAINER_IMAGE))["OCIv1"]["config"]
    assert config["User"] not in ("", "root", "0")
    assert not [env for env in config["Env"] if env.startswith("PIP_CERT=")]
    trial_args = _trial_args_from_the_job_spec(tmp_path, subset=1000, validation_size=1000)
    outputs = tmp_path / "outputs"  # a gs:// bucket on Vertex: written by the image's user
    outputs.mkdir()
    outputs.chmod(0o777)
    env = {
        "AIP_MODEL_DIR": "/outputs/trial-5/model",
        "CLOUD_ML_TRIAL_ID": "5",
        "CLOUD_ML_HP_METRIC_FILE": "/outputs/hypertune/output.metrics",
    }
    container = _buildah("from", "--quiet", "--pull=never", TRAINER_IMAGE).strip()
    as_the_user = ["buildah", "run", "--isolation", "chroot", "--user", config["User"]]
    try:
        trial = subprocess.run(
            [
                *as_the_user,
                *(f"--env={name}={value}" for name, value in env.items()),
                f"--volume={outputs}:/outputs",
                container,
                "--",
                *config["Entrypoint"],
                *trial_args,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        # docs/container.md's `docker run --rm trainer --epochs 1 --subset 1000`: no
        # AIP_MODEL_DIR, so the export goes to models/<run name> under the working directory.
        local = subprocess.run(
            [*as_the_user, container, "--", *config["Entrypoint"], "--epochs=1", "--subset=1000"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        # the image holds the trainer's extras only ([tensorflow,vertex]), not the search's
        absent = subprocess.run(
            [*as_the_user, container, "--", "python", "-c", NOT_IN_THE_IMAGE_CHECK],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        image_files = Path(_buildah("mount", container).strip())
        local_exports = list((image_files / config["WorkingDir"].lstrip("/")).glob("models/*"))
        leaked = _copies_of(Path(os.environ.get("PIP_CERT", DEBIAN_CA_BUNDLE)), image_files)
        local_export = {p.name for p in local_exports[0].iterdir()} if local_exports else set()
    finally:
        _buildah("rm", container)
    assert trial.returncode == 0, trial.stdout[-2000:] + trial.stderr[-3000:]
    assert local.returncode == 0, local.stdout[-2000:] + local.stderr[-3000:]
    assert len(local_exports) == 1 and "model.keras" in local_export, local_exports
    assert not leaked, f"the build's CA bundle was left in the image: {leaked}"
    assert absent.returncode == 0 and absent.stdout.split() == [], absent.stdout + absent.stderr

    exported = outputs / "trial-5" / "model"
    assert {"saved_model.pb", "variables", "model.keras", "metadata.json"} <= {
        p.name for p in exported.iterdir()
    }
    assert all(path.stat().st_uid != 0 for path in exported.rglob("*"))
    metadata = json.loads((exported / "metadata.json").read_text())
    assert metadata["params"]["filters"] == "16-32-64" and metadata["settings"]["subset"] == 1000
    assert metadata["settings"]["epochs"] == 1
    # The export loads here, both forms agree, and it scores the test accuracy the trial wrote.
    model = keras.models.load_model(exported / "model.keras")
    predicted = model.predict(fashion.test_images, batch_size=1000, verbose=0)
    accuracy = float(np.mean(predicted.argmax(axis=1) == fashion.test_labels))
    assert accuracy == pytest.approx(metadata["test"]["accuracy"], abs=1e-4)
    serving = tf.saved_model.load(str(exported)).signatures["serving_default"]
    (served,) = serving(tf.constant(fashion.test_images[:256])).values()
    np.testing.assert_allclose(served.numpy(), predicted[:256], atol=1e-5)

    reports = (outputs / "hypertune" / "output.metrics").read_text().splitlines()
    report = json.loads(reports[-1])
    assert report["trial"] == "5"
    assert float(report["val_accuracy"]) == metadata["validation"]["best_epoch_accuracy"]
