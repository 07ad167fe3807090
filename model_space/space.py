"""The declared CNN search space: one place for every searched name, bound and default."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from model_space.errors import SpaceError
from model_space.filters import parse_filters
from model_space.params import Choice, Float, Int, Param

#: Fashion-MNIST's classes: the width of every model's output.
NUM_CLASSES = 10


@dataclass(frozen=True)
class SearchSpace:
    """An ordered, frozen collection of parameters whose defaults form one valid point."""

    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        names = [param.name for param in self.params]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise SpaceError(f"Parameter names must be unique, but {duplicates} repeat.")

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __getitem__(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(f"No parameter {name!r}; the space has {', '.join(self.names)}.")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(param.name for param in self.params)

    def defaults(self) -> dict[str, Any]:
        """The default point: the seed model's configuration."""
        return {param.name: param.default for param in self.params}

    def validate(self, values: Mapping[str, Any], *, fill_defaults: bool = True) -> dict[str, Any]:
        """Checks every value against its declaration and returns a complete, typed point.

        Raises:
            ValueError: an unknown name, a missing name (without ``fill_defaults``), or a value
                outside its declaration. The message names the parameter and what it accepts.
        """
        unknown = sorted(set(values) - set(self.names))
        if unknown:
            raise SpaceError(
                f"Unknown parameter(s) {unknown}; the space has {', '.join(self.names)}."
            )
        missing = [name for name in self.names if name not in values]
        if missing and not fill_defaults:
            raise SpaceError(f"Missing parameter(s) {missing}.")
        point = self.defaults()
        for name, value in values.items():
            point[name] = self[name].validate(value)
        return point


FILTER_CHOICES = ("16-32-64", "32-64-128", "64-128-256")
for _filters in FILTER_CHOICES:
    parse_filters(_filters)

CNN_SPACE = SearchSpace(
    (
        Choice(
            "filters",
            FILTER_CHOICES,
            default="32-64-128",
            help="convolution filters per block, one number per block",
        ),
        Int("convs_per_block", 1, 2, default=1, help="convolutions in each block"),
        Int("units", 128, 1024, default=512, step=128, help="units of the dense layer"),
        Float("conv_dropout", 0.0, 0.5, default=0.25, help="dropout after each convolution block"),
        Float("dense_dropout", 0.2, 0.6, default=0.5, help="dropout after the dense layer"),
        Float(
            "learning_rate",
            1e-4,
            1e-2,
            default=1e-3,
            log=True,
            help="AdamW's peak learning rate (warm-up, then cosine decay to zero)",
        ),
        Float(
            "weight_decay",
            1e-6,
            1e-1,
            default=1e-5,
            log=True,
            help="AdamW's decoupled weight decay, multiplied by the learning rate",
        ),
        Choice("batch_size", (32, 64, 128, 256), default=128, help="images per training step"),
        Float(
            "augmentation",
            0.0,
            1.0,
            default=1.0,
            help="augmentation strength: 0 none, 1 the seed's (15 degree rotation, 15 percent "
            "shift, shear and zoom, horizontal flip)",
        ),
        Float(
            "label_smoothing", 0.0, 0.2, default=0.0, help="label smoothing of the cross-entropy"
        ),
        Float("flip", 0.0, 0.5, default=0.0, help="probability of a horizontal flip"),
        Int("crop", 0, 3, default=0, help="pixels of random shift (zero padding, then crop)"),
        Float("erasing", 0.0, 0.5, default=0.0, help="probability of erasing a random rectangle"),
    )
)
