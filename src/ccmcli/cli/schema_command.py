"""`ccm schema COMMAND`: the JSON Schema of a command's `--format json` output (contract 2)."""

from typing import Annotated

import typer

from ccmcli.cli.app import DataDirOpt, QuietOpt, app


@app.command(context_settings={"ignore_unknown_options": True})
def schema(
    command: Annotated[list[str] | None, typer.Argument(metavar="COMMAND...", help="The command, as typed: check, patient show, close --verify, rules CODE, ... [default: list them].", show_default=False)] = None,
    data: DataDirOpt = None,  # accepted as by every command; a schema reads no data
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Print the JSON Schema (draft 2020-12) of a command's --format json output.

    Every output names its schema and version in its `schema` field (`ccm.check/1`); a change
    that breaks one is a new version.
    """
    from ccmcli.reports.json_shapes import OUTPUTS, VERSIONS, schema_of

    words = command or []
    if not words:
        if not quiet:
            for name in OUTPUTS:
                typer.echo(f"{name:16} {VERSIONS[name]}")
        return
    name = " ".join(words)
    if words[0] == "rules" and len(words) == 2 and not words[1].startswith("-"):
        name = "rules CODE"  # any code: one page's shape
    if name not in OUTPUTS:
        raise typer.BadParameter(f"no JSON output for {name!r}; one of: {', '.join(OUTPUTS)}",
                                 param_hint="COMMAND")  # fmt: skip
    import json

    typer.echo(json.dumps(schema_of(name), indent=2))
