"""Reading inputs and writing results: CSV built in, Parquet with the ``[arrow]`` extra."""
