"""Repository-wide pytest setup."""


def pytest_collection_modifyitems(config, items):
    """Drops tf.test.TestCase.test_session: a deprecated helper TensorFlow names like a test."""
    helpers = [item for item in items if item.name == "test_session"]
    if helpers:
        config.hook.pytest_deselected(items=helpers)
        items[:] = [item for item in items if item.name != "test_session"]
