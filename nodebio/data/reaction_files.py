"""Reaction lists from files: a small YAML format, and SBML import.

:func:`read_reactions` reads a pathway's reactions for the structured neural ODE
(``node-structured``; ``nodebio train --reactions FILE``) from

* a **YAML** file (``.yaml``/``.yml``)::

      # one entry per reaction; names are the dataset's column names
      reactions:
        - name: HMGR                      # required, unique
          substrates: {HMG-CoA: 1}        # {state: coefficient}, or a list of states (coefficient 1)
          products: {Mevalonate: 1}       # at least one of substrates and products
          enzymes: [HMGR]                 # control (protein) columns that catalyse it; optional
          modifiers: []                   # states the flux depends on without consuming them; optional
          lumped: []                      # unmeasured intermediates the step stands for; optional

  A reaction without substrates is a supply from the host, one without products a drain. A
  single name may stand for a list of one (``enzymes: HMGR``). Names that YAML would read as
  something other than text (``NO``, ``yes``, ``1.5``, ``null``) must be quoted.
  :func:`write_reactions` writes this format.

* an **SBML** document (``.xml``/``.sbml``; python-libsbml, imported only then). Each reaction
  becomes a :class:`Reaction` named by its ``name`` (else its id); its reactants and products,
  with their stoichiometries (1 where unset), become substrates and products. Species are named
  by their ``name`` when set, else their id (``names`` maps either to a column name instead). A
  reaction's modifiers are sorted by this rule: a modifier that is a *state* is a ``modifier``
  (e.g. feedback), any other is an ``enzyme``. The states are ``states`` when given (the
  dataset's state columns), else every species that is a reactant or product of some reaction
  of the document. ``enzymes_from_modifiers=True`` makes every modifier an enzyme, ``False`` every
  one a modifier; ``roles`` names the role of single species (``{"HMGR": "enzyme"}``) and wins
  over both; ``enzymes`` gives the enzymes of single reactions outright (``{"HMGR": ["HMGR"]}``,
  for documents whose enzyme levels are parameters of the rate laws rather than species).
  Reversible reactions are imported as irreversible, in the written direction: the structured
  field's fluxes are non-negative, so a step that runs backwards needs a second reaction with
  substrates and products swapped. Rate laws, compartments and parameters are not read: the
  neural ODE learns the fluxes.

YAML is read with a safe loader (no tags that build Python objects) that refuses what a reaction
file never needs and an attacker would: aliases (``&a``/``*a``, the "billion laughs" that make a
small file expand without bound), keys given twice in one mapping (YAML would keep the last one
silently), files over :data:`MAX_BYTES`, and anything but a regular file (a FIFO or a device such
as ``/dev/zero`` would never end).

Every mistake is a :class:`~nodebio.errors.DataValidationError` that names the file and the entry.
Whether the names are columns of the data is checked when a model is fitted
(:func:`~nodebio.data.pathways.stoichiometry`), or up front by ``nodebio train``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from nodebio.data.pathways import Reaction
from nodebio.errors import DataValidationError, unknown_message

__all__ = ["YAML_SUFFIXES", "SBML_SUFFIXES", "REACTION_KEYS", "read_reactions", "write_reactions", "read_yaml",
           "read_sbml"]

YAML_SUFFIXES = (".yaml", ".yml")
SBML_SUFFIXES = (".xml", ".sbml")
#: The keys of one reaction of the YAML format (``name`` required).
REACTION_KEYS = ("name", "substrates", "products", "enzymes", "modifiers", "lumped")
_TOP_KEYS = ("reactions",)
#: The largest reaction file read (a pathway of hundreds of reactions takes a few tens of kB).
MAX_BYTES = 2_000_000
_ROLES = ("enzyme", "modifier")


def read_reactions(path: str | os.PathLike, **sbml_options: Any) -> tuple[Reaction, ...]:
    """The reactions of a YAML (``.yaml``/``.yml``) or SBML (``.xml``/``.sbml``) file.

    ``sbml_options`` (``states``, ``enzymes_from_modifiers``, ``roles``, ``enzymes``, ``names``) apply to SBML
    only; see ``read_sbml`` and the module's documentation for the formats.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in YAML_SUFFIXES + SBML_SUFFIXES:
        raise DataValidationError(
            f"{path}: a reaction file is YAML ({', '.join(YAML_SUFFIXES)}) or SBML ({', '.join(SBML_SUFFIXES)}), "
            f"got {suffix or 'no suffix'!r}; rename it accordingly.")
    _check_regular(path)
    if suffix in SBML_SUFFIXES:
        return read_sbml(path, **sbml_options)
    if sbml_options:
        raise DataValidationError(f"{path}: {', '.join(sorted(sbml_options))} apply to SBML files only.")
    return read_yaml(path)


# -- YAML ----------------------------------------------------------------------------------------

def _check_regular(path: Path) -> None:
    """Raise unless ``path`` is a regular file of at most :data:`MAX_BYTES` (links are followed)."""
    import stat

    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataValidationError(f"{path}: no such reaction file.") from None
    if not stat.S_ISREG(info.st_mode):
        raise DataValidationError(f"{path} is not a regular file (a folder, a device or a pipe): give the path of a "
                                  "reaction file.")
    if info.st_size > MAX_BYTES:
        raise DataValidationError(f"{path} has {info.st_size:,} bytes, more than a reaction file needs (at most "
                                  f"{MAX_BYTES:,}); check that it is the right file.")


class _Refused(Exception):
    """What the safe loader refuses, with the line; :func:`read_yaml` adds the file."""


def _loader():
    """A ``yaml.SafeLoader`` that refuses aliases and keys given twice (see the module docstring)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise _Refused(f"at line {mark.line + 1}: aliases (*name) are not allowed in a reaction file; "
                               "write each entry out")
            if self.check_event(yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent):
                anchor = self.peek_event().anchor
                if anchor is not None:
                    mark = self.peek_event().start_mark
                    raise _Refused(f"at line {mark.line + 1}: anchors (&{anchor}) are not allowed in a reaction file; "
                                   "write each entry out")
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:
                    continue  # an unhashable key: the base class says so
                if first != key_node.start_mark.line + 1:
                    raise _Refused(f"at line {key_node.start_mark.line + 1}: the key {key!r} is given again (first at "
                                   f"line {first}); YAML would keep only the last one. Give each key once")
            return super().construct_mapping(node, deep=deep)

    return Loader


def read_yaml(path: str | os.PathLike) -> tuple[Reaction, ...]:
    """The reactions of a YAML file in the format of the module's documentation."""
    import yaml

    path = Path(path)
    _check_regular(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataValidationError(f"{path}: no such reaction file.") from None
    except UnicodeDecodeError:
        raise DataValidationError(f"{path} is not UTF-8 text: save it as UTF-8.") from None
    try:
        document = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader, stricter still
    except _Refused as error:
        raise DataValidationError(f"{path}: {error}.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise DataValidationError(f"{path} is not valid YAML{where}: {problem}.") from None
    if not isinstance(document, Mapping) or "reactions" not in document:
        raise DataValidationError(
            f"{path}: a reaction file holds a mapping with the key 'reactions' (a list of reactions), e.g. "
            "'reactions: [{name: HMGR, substrates: {HMG-CoA: 1}, products: {Mevalonate: 1}, enzymes: [HMGR]}]'.")
    unknown = [k for k in document if k not in _TOP_KEYS]
    if unknown:
        raise DataValidationError(f"{path}: " + unknown_message("top-level key", [str(k) for k in unknown], _TOP_KEYS))
    entries = document["reactions"]
    if not isinstance(entries, list):
        raise DataValidationError(f"{path}: 'reactions' must be a list (one '- name: ...' entry per reaction), "
                                  f"got {type(entries).__name__}.")
    if not entries:
        raise DataValidationError(f"{path}: the list 'reactions' is empty: give at least one reaction.")
    reactions = [_reaction_from_entry(path, number, entry) for number, entry in enumerate(entries, start=1)]
    _check_unique(path, reactions)
    return tuple(reactions)


def _reaction_from_entry(path: Path, number: int, entry: Any) -> Reaction:
    where = f"{path}: reaction {number}"
    if not isinstance(entry, Mapping):
        raise DataValidationError(f"{where} must be a mapping of {', '.join(REACTION_KEYS)}, got {entry!r}.")
    name = entry.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise DataValidationError(f"{where} has no name: give each reaction a 'name'.")
    if not isinstance(name, str):
        raise DataValidationError(f"{where}: its name {name!r} is not text; write it in quotes.")
    where = f"{path}: reaction {number} ({name!r})"
    unknown = [str(k) for k in entry if k not in REACTION_KEYS]
    if unknown:
        raise DataValidationError(f"{where}: " + unknown_message("key", unknown, REACTION_KEYS))
    sides = {side: _side(where, side, entry.get(side)) for side in ("substrates", "products")}
    if not sides["substrates"] and not sides["products"]:
        raise DataValidationError(f"{where} has neither substrates nor products; give at least one.")
    lists = {key: _names(where, key, entry.get(key)) for key in ("enzymes", "modifiers", "lumped")}
    return Reaction(name, sides["substrates"], sides["products"], **lists)


def _name(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataValidationError(f"{where}: {key} holds {value!r}, which is not a name; write names as text "
                                  "(in quotes where YAML would read them as numbers, yes/no or null).")
    return value


def _names(where: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise DataValidationError(f"{where}: {key} must be a list of names, got {value!r}.")
    names = [_name(where, key, v) for v in value]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    repeated = sorted(n for n, count in counts.items() if count > 1)
    if repeated:
        raise DataValidationError(f"{where}: {key} lists {', '.join(map(repr, repeated))} more than once.")
    return tuple(names)


def _side(where: str, key: str, value: Any) -> dict[str, float]:
    if value is None:
        return {}
    if isinstance(value, (str, list)):
        names = _names(where, key, value)
        return {n: 1.0 for n in names}
    if not isinstance(value, Mapping):
        raise DataValidationError(f"{where}: {key} must be a mapping {{name: coefficient}} or a list of names, "
                                  f"got {value!r}.")
    side = {}
    for name, coefficient in value.items():
        name = _name(where, key, name)
        if isinstance(coefficient, bool) or not isinstance(coefficient, (int, float)):
            aside = ""
            if isinstance(coefficient, str) and _is_number(coefficient):
                aside = (" (YAML reads a number with an exponent but no decimal point, such as 1e3, as text: write "
                         "1.0e+3)")
            raise DataValidationError(f"{where}: the coefficient of {name!r} in its {key} must be a positive number, "
                                      f"got {coefficient!r}{aside}.")
        if not (math.isfinite(coefficient) and coefficient > 0):
            raise DataValidationError(f"{where}: the coefficient of {name!r} in its {key} must be a positive number, "
                                      f"got {coefficient!r}; a product is written under products, not as a "
                                      "negative substrate.")
        side[name] = float(coefficient)
    return side


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_unique(path: Path, reactions: Sequence[Reaction]) -> None:
    """Raise when two reactions share a name, or are the same reaction under two names (in linear time)."""
    positions: dict[str, list[int]] = {}
    for number, reaction in enumerate(reactions, start=1):
        positions.setdefault(reaction.name, []).append(number)
    repeated = {name: numbers for name, numbers in positions.items() if len(numbers) > 1}
    if repeated:
        numbers = "; ".join(f"{name!r} (reactions {', '.join(map(str, found[:10]))}"
                            f"{f' and {len(found) - 10} more' if len(found) > 10 else ''})"
                            for name, found in list(repeated.items())[:10])
        raise DataValidationError(f"{path}: reaction names must be unique; repeated: {numbers}.")
    same: dict[tuple, int] = {}
    for number, reaction in enumerate(reactions, start=1):
        content = (tuple(sorted(reaction.substrates.items())), tuple(sorted(reaction.products.items())),
                   tuple(sorted(reaction.enzymes)), tuple(sorted(reaction.modifiers)))
        first = same.setdefault(content, number)
        if first != number:
            raise DataValidationError(
                f"{path}: reactions {first} ({reactions[first - 1].name!r}) and {number} ({reaction.name!r}) are the "
                "same reaction (substrates, products, enzymes and modifiers): give each reaction once.")


def write_reactions(path: str | os.PathLike, reactions: Sequence[Reaction], comment: str | None = None) -> Path:
    """Write ``reactions`` as a YAML reaction file (the inverse of :func:`read_reactions`); returns
    the path. Empty ``modifiers``/``lumped`` are left out; whole coefficients are written as
    integers; ``comment`` (lines of text) goes into the file's header as YAML comments."""
    import yaml

    path = Path(path)
    if path.suffix.lower() not in YAML_SUFFIXES:
        raise DataValidationError(f"{path}: write_reactions writes YAML; give a path ending in .yaml or .yml.")
    reactions = tuple(reactions)
    if not reactions or not all(isinstance(r, Reaction) for r in reactions):
        raise DataValidationError(f"write_reactions({str(path)!r}, ...) needs a non-empty list of Reaction.")
    _check_unique(path, reactions)

    def number(c: float):
        return int(c) if float(c).is_integer() else float(c)

    entries = []
    for r in reactions:
        entry: dict[str, Any] = {"name": r.name}
        for side in ("substrates", "products"):
            terms = getattr(r, side)
            if terms:
                entry[side] = {s: number(c) for s, c in terms.items()}
        entry["enzymes"] = list(r.enzymes)
        for key in ("modifiers", "lumped"):
            if getattr(r, key):
                entry[key] = list(getattr(r, key))
        entries.append(entry)
    body = yaml.safe_dump({"reactions": entries}, sort_keys=False, allow_unicode=True, default_flow_style=None,
                          width=120)
    header = ("# Reactions for the pathway-structured neural ODE (nodebio train --model node-structured --reactions "
              "FILE).\n# Format: nodebio.data.reaction_files; names are the dataset's column names.\n")
    if comment:
        header += "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    path.parent.mkdir(parents=True, exist_ok=True)
    from nodebio import safeio

    with safeio.atomic_path(path) as tmp:
        tmp.write_text(header + body, encoding="utf-8")
    return path


# -- SBML ----------------------------------------------------------------------------------------

def read_sbml(path: str | os.PathLike, *, states: Sequence[str] | None = None,
              enzymes_from_modifiers: bool | None = None, roles: Mapping[str, str] | None = None,
              enzymes: Mapping[str, Sequence[str]] | None = None,
              names: Mapping[str, str] | None = None) -> tuple[Reaction, ...]:
    """The reactions of an SBML document (rule in the module's documentation).

    states : the dataset's state columns; a modifier among them is a ``modifier``, any other an
        enzyme (default: the species that are reactants or products of some reaction).
    enzymes_from_modifiers : True makes every modifier an enzyme, False every one a modifier.
    roles : ``{species: "enzyme" | "modifier"}`` for single species (by id, name or mapped name);
        wins over the two above.
    enzymes : ``{reaction name or id: [enzyme columns]}``, the enzymes of those reactions in place
        of what their modifiers give (their modifiers that are not enzymes stay modifiers).
    names : ``{species id or name: column name}``; species not in it keep their name (else id).
    Reversible reactions are imported as irreversible, in their written direction.
    """
    path = Path(path)
    roles = dict(roles or {})
    bad = {k: v for k, v in roles.items() if v not in _ROLES}
    if bad:
        raise DataValidationError(f"{path}: roles must be 'enzyme' or 'modifier', got {bad}.")
    model = _sbml_model(path)
    names = dict(names or {})
    given_enzymes = {key: (value,) if isinstance(value, str) else tuple(value)
                     for key, value in (enzymes or {}).items()}
    labels = {r.getId() for r in model.getListOfReactions()} | {r.getName() for r in model.getListOfReactions()}
    unknown = [key for key in given_enzymes if key not in labels]
    if unknown:
        raise DataValidationError(f"{path}: enzymes= names no reaction of the document: "
                                  + unknown_message("reaction", unknown, [r.getName() or r.getId()
                                                                          for r in model.getListOfReactions()]))

    species = _SbmlSpecies(path, model, names, roles)
    known_states = set(states) if states is not None else {
        species.column(ref.getSpecies()) for r in model.getListOfReactions()
        for ref in [*r.getListOfReactants(), *r.getListOfProducts()]}
    reactions = [_sbml_reaction(path, number, sbml, species, known_states, enzymes_from_modifiers, given_enzymes)
                 for number, sbml in enumerate(model.getListOfReactions(), start=1)]
    _check_unique(path, reactions)
    return tuple(reactions)


def _sbml_model(path: Path):
    """The model of a readable SBML document with at least one reaction."""
    try:
        import libsbml
    except ImportError:
        raise ImportError("Reading SBML needs python-libsbml: pip install python-libsbml "
                          "(pinned in requirements.lock).") from None
    if not path.is_file():
        raise DataValidationError(f"{path}: no such reaction file.")
    document = libsbml.readSBMLFromFile(str(path))
    errors = [document.getError(i) for i in range(document.getNumErrors())
              if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    if errors:
        first = errors[0]
        raise DataValidationError(f"{path} is not a readable SBML document ({len(errors)} error(s); line "
                                  f"{first.getLine()}: {first.getMessage().strip()}).")
    model = document.getModel()
    if model is None or model.getNumReactions() == 0:
        raise DataValidationError(f"{path}: the SBML document has no reactions.")
    return model


class _SbmlSpecies:
    """The column name and the role given to each species of an SBML model."""

    def __init__(self, path: Path, model, names: dict, roles: dict):
        self.path, self.model, self.names, self.roles = path, model, names, roles

    def column(self, sid: str) -> str:
        species = self.model.getSpecies(sid)
        if species is None:
            raise DataValidationError(f"{self.path}: a reaction refers to species {sid!r}, which the model does "
                                      "not define.")
        label = species.getName().strip() if species.isSetName() and species.getName().strip() else sid
        return self.names.get(sid, self.names.get(label, label))

    def role(self, sid: str) -> str | None:
        for key in (sid, self.column(sid)):
            if key in self.roles:
                return self.roles[key]
        species = self.model.getSpecies(sid)
        if species is not None and species.isSetName() and species.getName() in self.roles:
            return self.roles[species.getName()]
        return None


def _sbml_reaction(path: Path, number: int, sbml, species: _SbmlSpecies, known_states: set,
                   enzymes_from_modifiers: bool | None, given_enzymes: dict) -> Reaction:
    """One SBML reaction as a :class:`Reaction`: its sides, and its modifiers sorted into enzymes
    and modifiers."""
    label = sbml.getName().strip() if sbml.isSetName() and sbml.getName().strip() else sbml.getId()
    where = f"{path}: reaction {number} ({label!r})"
    if not label:
        raise DataValidationError(f"{path}: reaction {number} has neither a name nor an id.")
    sides = []
    for refs, side in ((sbml.getListOfReactants(), "reactants"), (sbml.getListOfProducts(), "products")):
        terms: dict[str, float] = {}
        for ref in refs:
            c = ref.getStoichiometry() if ref.isSetStoichiometry() else 1.0
            if not (math.isfinite(c) and c > 0):
                raise DataValidationError(f"{where}: the stoichiometry of {ref.getSpecies()!r} among its {side} "
                                          f"must be a positive number, got {c!r}.")
            name = species.column(ref.getSpecies())
            terms[name] = terms.get(name, 0.0) + float(c)
        sides.append(terms)
    substrates, products = sides
    if not substrates and not products:
        raise DataValidationError(f"{where} has neither reactants nor products.")
    found, modifiers = [], []
    for ref in sbml.getListOfModifiers():
        name = species.column(ref.getSpecies())
        chosen = species.role(ref.getSpecies())
        if chosen is None:
            if enzymes_from_modifiers is None:
                chosen = "modifier" if name in known_states else "enzyme"
            else:
                chosen = "enzyme" if enzymes_from_modifiers else "modifier"
        target = found if chosen == "enzyme" else modifiers
        if name not in target:
            target.append(name)
    chosen_enzymes = given_enzymes.get(sbml.getId(), given_enzymes.get(label, tuple(found)))
    return Reaction(label, substrates, products, tuple(chosen_enzymes), tuple(modifiers))
