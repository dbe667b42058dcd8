"""One-shot builder: the shared price snapshots -> this package's catalog CSVs.

Contract: `build(source_dir, out_dir)` reads the snapshot CSVs described in the shared
pricing PROVENANCE note and writes `ec2.csv`, `sagemaker.csv`, `azure.csv`, `azureml.csv`
(uniform `files.COLUMNS`) and `azureml_skus.csv`. Same input -> byte-identical output. The
committed CSVs are the product; this script records how they were made and which source
defects it corrects (see `data/PROVENANCE.md`).

    python -m modelfleet.catalog.build_from_shared [--source DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from modelfleet.catalog.accelerators import DATA_DIR
from modelfleet.catalog.build_aws import ec2_cpu, ec2_gpu, sagemaker
from modelfleet.catalog.build_azure import azure_vms, azureml, azureml_skus, render_skus
from modelfleet.catalog.files import atomic_write_text, offers_file, write_offers

DEFAULT_SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "pricing"


def build(source: Path = DEFAULT_SOURCE, out: Path = DATA_DIR) -> dict[str, int]:
    """Write every catalog file; returns rows written per file."""
    skus = azureml_skus(source)
    azure = azure_vms(source)
    tables = {
        "ec2": ec2_gpu(source) + ec2_cpu(source),
        "sagemaker": sagemaker(source),
        "azure": azure,
        "azureml": azureml(skus, azure),
    }
    for platform, offers in tables.items():
        write_offers(offers_file(out, platform), offers)
    atomic_write_text(out / "azureml_skus.csv", render_skus(skus))
    return {platform: len(offers) for platform, offers in tables.items()} | {"azureml_skus": len(skus)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="directory of the shared snapshot CSVs",
    )
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="catalog data directory to write")
    args = parser.parse_args(argv)
    for name, count in build(args.source, args.out).items():
        print(f"{name}: {count} rows")


if __name__ == "__main__":
    main()
