"""The sync protocol both sides speak (sync.md): the entities and who may write them, the one
merge, and the rules every change must pass. The laptop (`pm_cli.sync`) and the server
(`pm_cli.server`) import it; it imports neither."""
