"""The data: a verified download of Costello & Garcia Martin (2018), validated loading, preprocessing
and the pathways' reactions.

The subpackage is organised as the data flow:

- :mod:`nodebio.data.files`: the registry of the study's files, :func:`fetch` with hash checks.
- :mod:`nodebio.data.dataset`: :class:`Dataset` (one validated table of strains), :data:`PATHWAYS`.
- :mod:`nodebio.data.loading`: :func:`load` (a pathway table), :func:`load_csv`, :func:`from_frame`.
- :mod:`nodebio.data.preprocess`: :func:`impute`, :func:`resample`, :func:`split`, :class:`Scaler`,
  and :func:`prepare`, which applies them in that order and returns :class:`PreparedData`.
- :mod:`nodebio.data.pathways`: :class:`Reaction`, :data:`REACTIONS`, :func:`stoichiometry`.
- :mod:`nodebio.data.reaction_files`: :func:`read_reactions` (YAML or SBML), :func:`write_reactions`.

Every public name is importable from ``nodebio.data`` itself (``data.load``, ``data.prepare``, ...).
"""

from nodebio.data.dataset import PATHWAYS, PROTEIN_UNIT, UNITS, Dataset, PathwaySpec, identical_series
from nodebio.data.files import (BASE_URL, DATA_DIR_ENV, LICENSE_NOTE, REGISTRY, SOURCE_COMMIT, SOURCE_REPOSITORY,
                                DataFile, default_data_dir, fetch, fetch_all, file_sha256, read_raw)
from nodebio.data.loading import TIME_UNITS, from_frame, load, load_csv
from nodebio.data.pathways import (LIMONENE_STEP, REACTIONS, Reaction, mevalonate_pathway, pathway_chain,
                                   reactions_for, register_reactions, stoichiometry)
from nodebio.data.preprocess import (CONTROL_SCALING, STATE_SCALING, PreparedData, Scaler, Trajectories,
                                     default_split, impute, prepare, resample, split)
from nodebio.data.reaction_files import read_reactions, write_reactions
from nodebio.errors import DataDownloadError, DataError, DataIntegrityError, DataValidationError, DataWarning

__all__ = [
    "SOURCE_REPOSITORY", "SOURCE_COMMIT", "BASE_URL", "LICENSE_NOTE", "DATA_DIR_ENV", "REGISTRY", "PATHWAYS",
    "UNITS", "PROTEIN_UNIT", "DataFile", "PathwaySpec", "DataError", "DataIntegrityError", "DataDownloadError",
    "DataValidationError", "DataWarning", "TIME_UNITS", "default_data_dir", "file_sha256", "fetch", "fetch_all",
    "read_raw", "Dataset", "load",
    "load_csv", "identical_series", "from_frame", "impute", "resample", "split", "Scaler", "Trajectories",
    "PreparedData", "default_split", "prepare", "STATE_SCALING", "CONTROL_SCALING", "Reaction", "REACTIONS",
    "LIMONENE_STEP", "mevalonate_pathway", "register_reactions", "reactions_for", "stoichiometry", "pathway_chain",
    "read_reactions", "write_reactions",
]
