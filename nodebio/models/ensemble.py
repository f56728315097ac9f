"""One ensemble: several models of the same data that differ in their seed (and optionally in a
bootstrap sample of the training strains).

An :class:`Ensemble` is used like any model: ``Ensemble("node", members=5, seed=0).fit(prepared)``,
then ``simulate(trajectories)`` returns the members' mean, so it can be scored like one model.
:meth:`Ensemble.simulate_members` returns every member's simulation, the spread that
:mod:`nodebio.interventions` turns into intervals. :meth:`Ensemble.of` wraps models fitted
elsewhere (checking that they share their data), :meth:`Ensemble.load` reads them from a run folder.

Member ``k`` has the model seed :func:`nodebio.seeds.member_seed` ``(seed, k)``; with
``bootstrap``, its training strains are drawn with replacement from the stream
:data:`nodebio.seeds.BOOTSTRAP` of its seed (the scalers stay those of all training strains), so
the spread also reflects which strains happened to be measured.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from nodebio import data as _data
from nodebio import seeds
from nodebio.errors import CheckpointMismatchError, UsageError
from nodebio.models.registry import make_model

__all__ = ["Ensemble"]


class Ensemble:
    """Several models of one kind and one dataset, differing in seed; see the module docstring.

    name : a model name of :func:`nodebio.models.make_model`. members : how many. seed : the
    ensemble's seed (member k gets ``seed + k``). bootstrap : train each member on a bootstrap
    sample of the training strains. batched : train the members as one batched model where
    :func:`~nodebio.models.can_batch` allows (the same result, faster; False trains them one
    after another). quick, device, ``options``: as for :func:`make_model`.
    """

    def __init__(self, name: str = "node", members: int = 5, *, seed: int = 0, bootstrap: bool = False,
                 quick: bool = False, device: str = "auto", batched: bool = True, **options):
        if members < 1:
            raise UsageError(f"members must be at least 1, got {members}.")
        self.name, self.seed, self.bootstrap, self.batched = name, seed, bootstrap, batched
        self.members = [make_model(name, seed=seeds.member_seed(seed, k), quick=quick, device=device, **options)
                        for k in range(members)]
        self.fit_seconds: float | None = None

    @classmethod
    def of(cls, members: Sequence, bootstrap: bool = False) -> "Ensemble":
        """An ensemble of models fitted elsewhere; they must share states, controls, grid and data."""
        members = list(members)
        if not members:
            raise UsageError("An ensemble needs at least one fitted model.")
        first = members[0]
        for i, m in enumerate(members[1:], start=1):
            same = (m.states == first.states and m.controls == first.controls
                    and np.array_equal(m.times, first.times) and m.data_sha256 == first.data_sha256)
            if not same:
                raise UsageError(
                    f"Member {i} of the ensemble was trained on different data than member 0 "
                    f"({m.dataset_name!r} vs {first.dataset_name!r}, or other states, controls or grid); "
                    "an ensemble combines models of the same data."
                )
            if not bootstrap and set(m.train_strains) != set(first.train_strains):
                raise CheckpointMismatchError(
                    f"Member {i} of the ensemble was trained on strains {', '.join(m.train_strains)}, member 0 on "
                    f"{', '.join(first.train_strains)}: an ensemble combines models of one split (bootstrap members "
                    "aside: Ensemble.of(..., bootstrap=True)).")
            held_out = (getattr(m, "test_strains", ()), getattr(first, "test_strains", ()))
            if all(held_out) and held_out[0] != held_out[1]:
                raise CheckpointMismatchError(
                    f"Member {i} of the ensemble held out other strains ({', '.join(held_out[0])}) than member 0 "
                    f"({', '.join(held_out[1])}): its split is another. An ensemble combines models of one split; "
                    "simulate the runs separately."
                )
        ensemble = cls.__new__(cls)
        ensemble.name = getattr(first, "name", "node")
        ensemble.seed = first.config.seed if hasattr(first, "config") else 0
        ensemble.bootstrap, ensemble.members, ensemble.batched = bootstrap, members, True
        ensemble.fit_seconds = sum(m.fit_seconds or 0.0 for m in members)
        return ensemble

    @classmethod
    def load(cls, paths: str | Path | Sequence[str | Path], *, device: str = "cpu") -> "Ensemble":
        """Read the members from checkpoint files, or from every ``model*.pt`` of run folders."""
        from nodebio.runs import load_members

        return cls.of(load_members(paths, device=device))

    def save(self, folder: str | Path) -> list[Path]:
        """Write each member as ``folder/model-seed<seed>.pt``."""
        from nodebio.runs import save_members

        return save_members(folder, self.members)

    def fit(self, prepared: _data.PreparedData, *, progress: bool = False) -> "Ensemble":
        """Fit every member on the training strains of ``prepared`` (a bar over the members when
        ``progress``)."""
        from tqdm import tqdm

        from nodebio.models import batched

        started = time.perf_counter()
        if self.batched and not self.bootstrap and batched.can_batch(self.members):
            batched.fit_members(self.members, prepared, progress=progress)
            self.fit_seconds = time.perf_counter() - started
            return self
        strains = list(prepared.train.strains)
        for member in tqdm(self.members, desc=f"ensemble ({prepared.dataset.name})", disable=not progress):
            member_data = prepared
            if self.bootstrap:
                rng = seeds.rng(member.config.seed, seeds.BOOTSTRAP)
                sample = [strains[i] for i in rng.integers(0, len(strains), len(strains))]
                member_data = replace(prepared, train=prepared.train.subset(sample))
            member.fit(member_data, progress=False)
        self.fit_seconds = time.perf_counter() - started
        return self

    # what every member shares
    @property
    def config(self):
        return self.members[0].config

    @property
    def states(self) -> tuple[str, ...]:
        return self.members[0].states

    @property
    def controls(self) -> tuple[str, ...]:
        return self.members[0].controls

    @property
    def times(self) -> np.ndarray:
        return self.members[0].times

    @property
    def dataset_name(self) -> str:
        return self.members[0].dataset_name

    @property
    def data_sha256(self) -> str | None:
        return self.members[0].data_sha256

    @property
    def train_strains(self) -> tuple[str, ...]:
        """The training strains of all members (bootstrap members may use fewer)."""
        return tuple(dict.fromkeys(s for m in self.members for s in m.train_strains))

    @property
    def seeds(self) -> list[int]:
        return [m.config.seed for m in self.members]

    def __len__(self) -> int:
        return len(self.members)

    def check_compatible(self, trajectories: _data.Trajectories) -> None:
        """Raise CheckpointMismatchError if the strains' features differ from the members'."""
        self.members[0].check_compatible(trajectories)

    def simulate_members(self, trajectories: _data.Trajectories, *, controls: np.ndarray | None = None,
                         x0: np.ndarray | None = None) -> np.ndarray:
        """(M, S, T, n_states) in original units: every member simulates every strain (``controls``
        and ``x0`` as for a model's ``simulate``)."""
        return np.stack([m.simulate(trajectories, controls=controls, x0=x0) for m in self.members])

    def simulate(self, trajectories: _data.Trajectories, *, controls: np.ndarray | None = None,
                 x0: np.ndarray | None = None) -> np.ndarray:
        """The members' mean simulation, (S, T, n_states): the ensemble's prediction."""
        return self.simulate_members(trajectories, controls=controls, x0=x0).mean(axis=0)

    def __repr__(self) -> str:
        return (f"Ensemble({self.name!r}, {len(self)} members, seeds {self.seeds}"
                + (", bootstrap" if self.bootstrap else "") + ")")
