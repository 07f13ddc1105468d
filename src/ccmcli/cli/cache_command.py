"""`ccm cache clear`: remove the caches of parsed files, which hold patient data."""

import typer

from ccmcli.cli.app import CcmGroup, DataDirOpt, QuietOpt, app, data_dir, err

cache_app = typer.Typer(
    cls=CcmGroup, no_args_is_help=True, help="Manage the caches of parsed files (.ccm-cache/)."
)
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def clear(ctx: typer.Context, data: DataDirOpt = None, quiet: QuietOpt = False) -> None:
    """Remove your caches of this data directory (.ccm-cache/<you>/, and any older ones in your
    cache folder). They hold copies of patient data; removing them costs only speed."""
    from ccmcli.store import cache

    d = data_dir(ctx, data)
    removed = cache.clear(d.root)
    if not quiet:
        err(f"removed {removed} cache file{'s' * (removed != 1)}")
