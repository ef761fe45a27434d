"""Lambda entry points and the template loader. Handler modules build nothing at import
time: the platform (and every boto3 client) is built on the first invocation."""
