"""The domain layer: each service's model and handlers, called directly, against units of
work over a table in a temporary file. No platform, broker or HTTP: the layer runs in
seconds, beside the end-to-end tests that boot everything."""
