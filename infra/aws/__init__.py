"""Lambda entry points and the template loader. Handler modules build nothing at import
time: the platform (and every boto3 client) is built on the first invocation."""

import os

# The functions use no pydantic plugin: without this, pydantic's first model build looks
# for one through every installed distribution's entry points (importlib.metadata), at
# every cold start. Set (to "" or a list of names) in the environment, it stands.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
