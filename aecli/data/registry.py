"""Data sources: each dataset config class (aecli/config/dataset.py) maps to its source.

Adding a source is one config class (naming itself in `source`), its reader with a DataSource
(aecli/data/datasource.py) that answers what differs, one entry in DATASETS, one YAML in
conf/dataset/ and its tests; nothing elsewhere compares dataset names.
"""

from aecli.config.dataset import (
    BaseDatasetConfig,
    CsvConfig,
    DSpritesConfig,
    FileDatasetConfig,
    ImageFolderConfig,
    NpzConfig,
    SyntheticConfig,
    TabularConfig,
)
from aecli.data.datasource import DataSource
from aecli.data.generated import DSprites, Synthetic, Tabular
from aecli.data.sources import PublishedFiles
from aecli.data.user_files import Csv, ImageFolder, Npz

DATASETS: dict[type[BaseDatasetConfig], type[DataSource]] = {
    FileDatasetConfig: PublishedFiles,
    SyntheticConfig: Synthetic,
    TabularConfig: Tabular,
    DSpritesConfig: DSprites,
    ImageFolderConfig: ImageFolder,
    CsvConfig: Csv,
    NpzConfig: Npz,
}


def source_of(cfg: BaseDatasetConfig) -> type[DataSource]:
    return DATASETS[type(cfg)]
