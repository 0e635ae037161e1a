"""Deposition: from a folder of data files to a manifest and a dataset that validate.

``walk`` lists a folder (reporting what it leaves out), ``hashing`` hashes and reads
headers in parallel with progress, ``state`` remembers what was hashed so that a re-run
only reads new or changed files, ``addfiles`` writes the manifest and the dataset entry,
``studyedit`` inserts a dataset into study.yaml without touching the rest, and
``checkdata`` compares a data folder with the manifests.
"""
