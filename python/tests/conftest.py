# The fixtures under test; when the package is installed its pytest11 entry point has the same name, so it loads once.
pytest_plugins = ["iact.pytest_plugin"]
