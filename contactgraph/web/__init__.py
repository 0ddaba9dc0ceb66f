"""The server's own browser pages and the bundles they load, built from pinned npm packages
by tools/web/build and shipped in the package, so a page works without the internet."""
