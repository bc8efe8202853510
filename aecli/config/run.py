"""The config of one run: hardware, trainer, paths, and the top-level keys that tie them
together."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, List, Optional

from omegaconf import MISSING

from aecli.config.checks import finite, require, require_seed
from aecli.config.dataset import BaseDatasetConfig
from aecli.config.logger import LoggerConfig
from aecli.config.model import BaseModelConfig
from aecli.errors import ConfigError


class Precision(str, Enum):
    float32 = "float32"
    mixed_float16 = "mixed_float16"
    mixed_bfloat16 = "mixed_bfloat16"
    # the device decides (aecli.training.hardware.resolve_precision), and on a CPU with bfloat16
    # instructions the measurement (aecli.training.autotune.precisions)
    mixed_auto = "mixed_auto"


class Strategy(str, Enum):
    """How training is spread over devices: one device, all local GPUs, or several machines
    (TF_CONFIG)."""

    none = "none"
    mirrored = "mirrored"
    multi_worker = "multi_worker"


# a setting left to what is measured fastest on this machine (aecli/training/autotune.py)
AUTO = "auto"
# Keras counts optimizer steps in int64: 2^31 epochs leave 2^32 steps per epoch, more batches than
# any training set that fits in memory makes
MAX_EPOCHS = 2**31 - 1
# drops of a step schedule: each is a boundary of Keras' PiecewiseConstantDecay, all compared with
# the step count at every step
MAX_LR_DROPS = 1000


class JitCompile(str, Enum):
    """XLA on, off, or `auto`: on only where it was measured faster (aecli/training/autotune.py)."""

    auto = "auto"
    on = "on"
    off = "off"


class FuseSteps(str, Enum):
    """How the steps of one call run under XLA (aecli/training/fused_steps.py): Keras' loop of one
    XLA launch a step (`off`), all in one XLA program as a while loop (`loop`) or written out
    (`unrolled`), or `auto`: those that apply are timed with the other candidates
    (aecli/training/autotune.py)."""

    auto = "auto"
    off = "off"
    loop = "loop"
    unrolled = "unrolled"


@dataclass
class HardwareConfig:
    """Device, numeric precision and compilation.

    name: cpu | gpu | mixed (informational; the keys below decide).
    device: `cpu` hides every GPU; `gpu` requires one; `auto` uses one when visible.
    precision: float32; mixed_float16 (float16 compute, float32 variables, loss scaling);
               mixed_bfloat16 (bfloat16 compute, float32 variables, no loss scaling); or
               mixed_auto (hardware=mixed): on CPUs with AMX or AVX512_BF16 bfloat16 or float32,
               whichever is measured faster (aecli/training/autotune.py); bfloat16 on GPUs of
               compute capability >= 8.0, float16 on older GPUs, float32 on other CPUs.
    jit_compile: XLA on | off | auto.
    fuse_steps: the steps of one call in one XLA program: off | loop | unrolled | auto (timed
                where XLA is on and a call has several steps). loop or unrolled needs XLA and
                several steps per call, and forces both where they are left to auto.
    strategy: none | mirrored (tf.distribute.MirroredStrategy over the local devices) | multi_worker
              (MultiWorkerMirroredStrategy, cluster from the TF_CONFIG environment variable).
    cpu_devices: split the CPU into this many logical devices (device=cpu), so the mirrored
                 strategy can be run, and tested, without GPUs.
    intra_op_threads, inter_op_threads: TensorFlow thread pools (0 = TensorFlow's choice).
    """

    name: str = MISSING
    device: str = "auto"
    precision: Precision = Precision.float32
    jit_compile: JitCompile = JitCompile.auto
    fuse_steps: FuseSteps = FuseSteps.auto
    strategy: Strategy = Strategy.none
    cpu_devices: int = 1
    intra_op_threads: int = 0
    inter_op_threads: int = 0

    def __post_init__(self) -> None:
        require(
            self.device in ("cpu", "gpu", "auto"),
            "hardware.device",
            self.device,
            "one of cpu, gpu, auto",
        )
        require(
            self.jit_compile != JitCompile.off or not self.fused,
            "hardware.fuse_steps",
            self.fuse_steps.value,
            "off or auto with hardware.jit_compile=off (fused steps are one XLA program)",
        )
        require(self.cpu_devices >= 1, "hardware.cpu_devices", self.cpu_devices, "an integer >= 1")
        require(
            self.intra_op_threads >= 0, "hardware.intra_op_threads", self.intra_op_threads, ">= 0"
        )
        require(
            self.inter_op_threads >= 0, "hardware.inter_op_threads", self.inter_op_threads, ">= 0"
        )

    @property
    def fused(self) -> bool:
        """Whether fused steps are asked for (loop or unrolled), not merely allowed (auto)."""
        return self.fuse_steps in (FuseSteps.loop, FuseSteps.unrolled)


class OptimizerName(str, Enum):
    adam = "adam"
    adamw = "adamw"
    sgd = "sgd"


class LRSchedule(str, Enum):
    """constant; cosine (decay to 0 by the last step, after `warmup_epochs` of linear warm-up);
    step (times `lr_step_factor` every `lr_step_epochs`); plateau (times `lr_plateau_factor`
    after `lr_plateau_patience` epochs without a lower val_loss)."""

    constant = "constant"
    cosine = "cosine"
    step = "step"
    plateau = "plateau"


@dataclass
class TrainerConfig:
    """Optimisation loop on mini-batches (aecli/training/optimization.py).

    optimizer: adam | adamw | sgd.
    momentum: SGD's momentum (sgd only).
    weight_decay: decoupled decay (w -= lr * weight_decay * w after each step), which Keras 3
                  applies the same way in every optimizer; null = the optimizer's default
                  (adamw 0.004, none for adam and sgd).
    lr_schedule: constant | cosine | step | plateau, with warmup_epochs (cosine),
                 lr_step_epochs and lr_step_factor (step), lr_plateau_patience and
                 lr_plateau_factor (plateau).
    gradient_clip_norm: clip the global norm of the gradients to this (null = no clipping).
    early_stopping_patience: stop after this many epochs without val_loss improving by
                             early_stopping_min_delta, and evaluate the best epoch's weights
                             (null = train every epoch).
    init_from: a finished run's folder whose encoder and decoder weights start this run
               (fine-tuning); the architecture must match.
    steps_per_execution: train steps fused into one compiled call (fewer Python round trips), or
                         auto: 1 or 8, whichever was measured faster for this configuration on
                         this machine (aecli/training/autotune.py).
    checkpoint_every: save the `last` checkpoint every N epochs (the `best` one whenever
                      validation loss improves).
    image_every: write image grids every N epochs (0 = never).
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    optimizer: OptimizerName = OptimizerName.adam
    momentum: float = 0.0
    weight_decay: Optional[float] = None
    lr_schedule: LRSchedule = LRSchedule.constant
    warmup_epochs: int = 0
    lr_step_epochs: int = 10
    lr_step_factor: float = 0.1
    lr_plateau_patience: int = 5
    lr_plateau_factor: float = 0.5
    gradient_clip_norm: Optional[float] = None
    early_stopping_patience: Optional[int] = None
    early_stopping_min_delta: float = 0.0
    init_from: Optional[str] = None
    # an int or "auto": OmegaConf 2.3 has no Union of primitives, so Any, checked below
    steps_per_execution: Any = AUTO
    checkpoint_every: int = 1
    image_every: int = 1

    def __post_init__(self) -> None:
        require(
            1 <= self.epochs <= MAX_EPOCHS,
            "trainer.epochs",
            self.epochs,
            f"an integer in [1, {MAX_EPOCHS}] (2^31 - 1: epochs x steps per epoch must fit "
            "the optimizer's 64-bit step counter for any training set that fits in memory)",
        )
        require(self.batch_size >= 1, "trainer.batch_size", self.batch_size, "an integer >= 1")
        require(
            finite(self.learning_rate) and self.learning_rate > 0,
            "trainer.learning_rate",
            self.learning_rate,
            "finite and > 0",
        )
        require(
            self.steps_per_execution == AUTO
            or (
                isinstance(self.steps_per_execution, int)
                and not isinstance(self.steps_per_execution, bool)
                and self.steps_per_execution >= 1
            ),
            "trainer.steps_per_execution",
            self.steps_per_execution,
            "auto or an integer >= 1",
        )
        require(
            self.checkpoint_every >= 1,
            "trainer.checkpoint_every",
            self.checkpoint_every,
            "an integer >= 1",
        )
        require(self.image_every >= 0, "trainer.image_every", self.image_every, "an integer >= 0")
        self._check_optimizer()
        self._check_schedule()
        require(
            self.gradient_clip_norm is None
            or (finite(self.gradient_clip_norm) and self.gradient_clip_norm > 0),
            "trainer.gradient_clip_norm",
            self.gradient_clip_norm,
            "null or finite and > 0",
        )
        require(
            self.early_stopping_patience is None or self.early_stopping_patience >= 1,
            "trainer.early_stopping_patience",
            self.early_stopping_patience,
            "null (off) or an integer >= 1",
        )
        require(
            finite(self.early_stopping_min_delta) and self.early_stopping_min_delta >= 0,
            "trainer.early_stopping_min_delta",
            self.early_stopping_min_delta,
            "finite and >= 0",
        )

    def _check_optimizer(self) -> None:
        require(
            finite(self.momentum) and 0 <= self.momentum < 1,
            "trainer.momentum",
            self.momentum,
            "in [0, 1)",
        )
        if self.momentum and self.optimizer != OptimizerName.sgd:
            raise ConfigError(
                f"trainer.momentum={self.momentum:g} applies to trainer.optimizer=sgd only; "
                f"{self.optimizer.value} would ignore it. Drop it, or add `trainer.optimizer=sgd`."
            )
        require(
            self.weight_decay is None or (finite(self.weight_decay) and self.weight_decay >= 0),
            "trainer.weight_decay",
            self.weight_decay,
            "null or finite and >= 0",
        )

    def _check_schedule(self) -> None:
        require(
            0 <= self.warmup_epochs < self.epochs,
            "trainer.warmup_epochs",
            self.warmup_epochs,
            f"an integer in [0, trainer.epochs={self.epochs})",
        )
        if self.warmup_epochs and self.lr_schedule != LRSchedule.cosine:
            raise ConfigError(
                f"trainer.warmup_epochs={self.warmup_epochs} applies to "
                f"trainer.lr_schedule=cosine only; {self.lr_schedule.value} would ignore it. Drop "
                "it, or add `trainer.lr_schedule=cosine`."
            )
        require(
            self.lr_step_epochs >= 1,
            "trainer.lr_step_epochs",
            self.lr_step_epochs,
            "an integer >= 1",
        )
        drops = (self.epochs - 1) // self.lr_step_epochs
        require(
            self.lr_schedule != LRSchedule.step or drops <= MAX_LR_DROPS,
            "trainer.lr_step_epochs",
            self.lr_step_epochs,
            f"at least (trainer.epochs - 1) / {MAX_LR_DROPS} with trainer.lr_schedule=step (it "
            f"would drop the rate {drops} times; each drop is a boundary the schedule compares "
            "with the step count at every step)",
        )
        require(
            self.lr_plateau_patience >= 0,
            "trainer.lr_plateau_patience",
            self.lr_plateau_patience,
            "an integer >= 0",
        )
        for key in ("lr_step_factor", "lr_plateau_factor"):
            value = getattr(self, key)
            require(finite(value) and 0 < value < 1, f"trainer.{key}", value, "in (0, 1)")


class DCIEstimator(str, Enum):
    """DCI's importance matrix: gbt, disentanglement_lib's gradient-boosted trees (the reference;
    minutes on 10,000 points), or extra_trees (seconds; reported as test_dci_extra_trees_*)."""

    gbt = "gbt"
    extra_trees = "extra_trees"


@dataclass
class EvalConfig:
    """The test split's metrics at the end of a run (aecli/evaluation/metrics.py).

    dci_estimator: gbt | extra_trees (see DCIEstimator), for datasets with known factors; DCI is
                   computed at the end of a run and by `aecli eval`, never per epoch.
    """

    dci_estimator: DCIEstimator = DCIEstimator.gbt


@dataclass
class PathsConfig:
    """Every filesystem location outside a run folder, in one place (a run folder's own layout is
    aecli/rundir/layout.py)."""

    root_dir: str = MISSING
    log_dir: str = MISSING


@dataclass
class TrainConfig:
    """One run.

    name, tags: a name and labels of your own for the run, shown by `aecli runs` and recorded in
                metrics.json (`tags=[baseline,fmnist]`).
    beta: shortcut for `model.beta`, the KL weight of the variational families; null keeps the
          model's own default. A model without a KL term refuses it rather than ignore it.
    eval: how the test split is scored at the end of the run (EvalConfig).
    """

    model: BaseModelConfig = MISSING
    dataset: BaseDatasetConfig = MISSING
    hardware: HardwareConfig = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    # the `logger` group's choices (conf/train.yaml selects tensorboard)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    task_name: str = "train"
    name: Optional[str] = None
    tags: List[str] = field(default_factory=list)
    seed: int = 0
    beta: Optional[float] = None

    def __post_init__(self) -> None:
        require_seed("seed", self.seed)
        require(
            not self.hardware.fused or self.trainer.steps_per_execution != 1,
            "hardware.fuse_steps",
            self.hardware.fuse_steps.value,
            "off or auto with trainer.steps_per_execution=1 (there is one step to a call, "
            "nothing to fuse)",
        )
        if self.beta is None:
            return
        if not self.model.variational:
            raise ConfigError(
                f"`beta={self.beta:g}` has nothing to weight: model={self.model.name} has no KL "
                "term, "
                "so it would be ignored (and a sweep over it would repeat one run). Drop `beta=`, "
                "or "
                "choose a VAE: `model=vae`, `model=beta_vae` or `model=beta_tcvae`."
            )
        self.model.beta = self.beta
        self.model.__post_init__()


class AnomalyScore(str, Enum):
    """Reconstruction error (mean squared, per example), or the negative ELBO (VAEs)."""

    recon = "recon"
    neg_elbo = "neg_elbo"


class Threshold(str, Enum):
    """percentile: of the normal validation scores (needs no anomalies); f1_optimal: the score
    maximising F1 on a labelled validation split (normal validation rows + anomalies drawn
    apart from the test ones: see `BaseDatasetConfig.has_labelled_anomalies`); contamination:
    the (1 - contamination) quantile of the validation scores, for unlabelled data whose share
    of anomalies is known (PyOD's `contamination`)."""

    percentile = "percentile"
    f1_optimal = "f1_optimal"
    contamination = "contamination"


class Objective(str, Enum):
    """What an anomaly run hands a hyperparameter search (the job's return value): the
    validation loss (minimise), or the primary score's ROC-AUC or PR-AUC on the labelled
    validation split (maximise). Never a test figure."""

    val_loss = "val_loss"
    val_roc_auc = "val_roc_auc"
    val_pr_auc = "val_pr_auc"


@dataclass
class AnomalySettings:
    """How `aecli anomaly` flags examples.

    score: recon | neg_elbo (VAEs only) decides the flag; both are reported for VAEs.
    threshold: percentile | f1_optimal (see Threshold).
    percentile: with threshold=percentile, this percentile of the scores of normal validation
                examples.
    contamination: with threshold=contamination, the expected share of anomalies in the data
                   (PyOD's default 0.1); flags the scores above that quantile of validation.
    elbo_samples: posterior samples averaged in the negative-ELBO score.
    objective: the job's return value for a hyperparameter search (see Objective).
    """

    score: AnomalyScore = AnomalyScore.recon
    threshold: Threshold = Threshold.percentile
    percentile: float = 95.0
    contamination: float = 0.1
    elbo_samples: int = 10
    objective: Objective = Objective.val_loss

    def __post_init__(self) -> None:
        require(0 < self.percentile < 100, "anomaly.percentile", self.percentile, "in (0, 100)")
        require(
            0 < self.contamination <= 0.5,
            "anomaly.contamination",
            self.contamination,
            "in (0, 0.5]: the expected share of anomalies",
        )
        require(
            self.elbo_samples >= 1, "anomaly.elbo_samples", self.elbo_samples, "an integer >= 1"
        )


@dataclass
class AnomalyConfig(TrainConfig):
    """A run of `aecli anomaly`: train on normal data only, then score and threshold the test
    split."""

    task_name: str = "anomaly"
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.anomaly.score == AnomalyScore.neg_elbo and not self.model.variational:
            raise ConfigError(
                f"anomaly.score=neg_elbo needs a VAE (model=vae); use anomaly.score=recon for "
                f"model={self.model.name}."
            )
        needs = self.labelled_validation_needs()
        if needs and not self.dataset.has_labelled_anomalies():
            raise ConfigError(self.no_labelled_anomalies(needs))

    def labelled_validation_needs(self) -> str:
        """What of this run needs labelled validation anomalies, in words ('' when nothing)."""
        asked = {
            "anomaly.threshold=f1_optimal tunes the threshold": self.anomaly.threshold
            == Threshold.f1_optimal,
            f"anomaly.objective={self.anomaly.objective.value} is measured": self.anomaly.objective
            != Objective.val_loss,
        }
        return " and ".join(need for need, wanted in asked.items() if wanted)

    def no_labelled_anomalies(self, needs: str) -> str:
        dataset = self.dataset.name.value
        return (
            f"{needs} on labelled validation anomalies, and dataset={dataset} has none: its "
            "validation split holds normal examples only, and using the test split would "
            "make the test figures optimistic. Train on one class with "
            "`dataset.normal_class=N` (the other classes of the training split become the "
            f"validation anomalies), give a CSV's labels with `dataset.label_column`, use a "
            "generated tabular set (dataset=transactions or dataset=network_traffic), or keep "
            "anomaly.threshold=percentile (or contamination) and anomaly.objective=val_loss."
        )
