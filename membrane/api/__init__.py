"""Transport: the Starlette app, the Strawberry schema, the request context and loaders.

Calls the domain services; never builds SQL or touches models' rules itself.
"""
