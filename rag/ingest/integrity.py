"""Checksums of an index folder: recorded in its manifest when it is built,
checked when it is opened (rag.search.knowledge_base) and, in full, by
``ragqa index --verify``.

The manifest's ``checksums`` maps every file of the folder but the manifest
itself (path relative to the folder, ``/``-separated) to ``{"bytes": size,
"blake2b": hex digest}``; ``row_digests.npy`` holds one 8-byte BLAKE2b
digest of every vector row (``(n,)`` uint64; FAISS row ``i`` and row ``i``
of ``chunk_vectors.npz`` are the same vector).

An open hashes the small files (the chunk table, BM25, the sentence table,
the text facts, the row digests: 0.3 MB and 4 ms for the five articles;
about 67 MiB at the 5,793-document scale corpus, whose index is 128 MiB,
so about 0.5 s at the 126 MB/s BLAKE2b ran on the shared two-core test
machine under load) and checks the vector files by size only; then it
compares :data:`SAMPLE_ROWS` random FAISS rows with their digests, which
catches zeroed or rewritten vectors without hashing the whole vector file. ``ragqa index --verify``
(:func:`verify_folder`) hashes every file and compares every row.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from embeddings.vector_index import FAISS_FILE, MANIFEST_FILE, read_manifest

#: Manifest key of the file checksums.
CHECKSUMS = "checksums"
#: One BLAKE2b digest (8 bytes) per vector row, ``(n,)`` uint64.
ROW_DIGESTS_FILE = "row_digests.npy"
#: The chunk vectors of a build, by node id (rag.ingest.indexing).
CHUNK_VECTORS_FILE = "chunk_vectors.npz"
#: Files checked by size on open (hashed whole only by :func:`verify_folder`).
VECTOR_FILES = frozenset({FAISS_FILE, CHUNK_VECTORS_FILE})
#: FAISS rows compared with their digests on every open (all of them when there are fewer).
SAMPLE_ROWS = 256


def file_digest(path: Path) -> str:
    """BLAKE2b (64-byte digest) of the file's bytes, as hex.

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()


def row_digests(vectors: np.ndarray) -> np.ndarray:
    """``(n,)`` uint64: the 8-byte BLAKE2b digest of each row's float32 bytes
    (about 1 µs a row)."""
    rows = np.ascontiguousarray(vectors, dtype=np.float32)
    packed = b"".join(hashlib.blake2b(row.tobytes(), digest_size=8).digest() for row in rows)
    return np.frombuffer(packed, dtype="<u8").copy()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST_FILE)


def seal(folder: Path, vectors: np.ndarray) -> dict[str, dict]:
    """Write ``row_digests.npy`` for ``vectors`` (the index's ``(n, dim)``
    rows) into ``folder``, then return the checksums of every file there:
    ``{relative path: {"bytes", "blake2b"}}``, for the manifest.

    Raises:
        OSError: a file cannot be written or read.
    """
    folder = Path(folder)
    np.save(folder / ROW_DIGESTS_FILE, row_digests(vectors))
    return {p.relative_to(folder).as_posix(): {"bytes": p.stat().st_size, "blake2b": file_digest(p)}
            for p in _files(folder)}


def check_files(folder: Path, checksums: dict, names=None, hash_vectors: bool = False) -> list[str]:
    """Problems of the files ``names`` (default: all that ``checksums``
    lists), one line each: missing, another size, or (vector files only
    with ``hash_vectors``) another BLAKE2b digest than at build time."""
    problems = []
    for name in checksums if names is None else names:
        expected = checksums.get(name)
        path = Path(folder) / name
        if expected is None:
            problems.append(f"{name}: not in the manifest's checksums")
            continue
        try:
            size = path.stat().st_size
            if size != expected.get("bytes"):
                problems.append(f"{name}: {size:,} bytes, {expected.get('bytes'):,} when built (truncated or replaced)")
            elif (hash_vectors or name not in VECTOR_FILES) and file_digest(path) != expected.get("blake2b"):
                problems.append(f"{name}: checksum differs from the one recorded at build time (edited or corrupted)")
        except OSError as exc:
            problems.append(f"{name}: cannot be read ({exc.strerror or exc})")
    return problems


def small_files(checksums: dict) -> list[str]:
    """The files an open hashes: all but the vector files."""
    return [name for name in checksums if name not in VECTOR_FILES]


def sample(n: int, k: int = SAMPLE_ROWS, rng: np.random.Generator | None = None) -> np.ndarray:
    """``min(n, k)`` distinct row numbers in ``[0, n)``, sorted, int64: all
    rows when ``n <= k``, else a random sample (fresh each call, so that
    repeated opens cover the whole file)."""
    if n <= k:
        return np.arange(n, dtype=np.int64)
    return np.sort((rng or np.random.default_rng()).choice(n, size=k, replace=False)).astype(np.int64)


def check_rows(name: str, rows: np.ndarray, vectors: np.ndarray, digests: np.ndarray) -> list[str]:
    """One problem line when ``vectors`` (the rows ``rows`` of the file
    ``name``) differ from their build-time ``digests``; else none."""
    if len(digests) <= (int(rows.max()) if len(rows) else -1):
        return [f"{name}: {len(digests)} row digests for row {int(rows.max())}"]
    bad = int(np.count_nonzero(row_digests(vectors) != digests[rows]))
    if bad:
        what = "vector rows" if len(rows) == len(digests) else "sampled vector rows"
        return [f"{name}: {bad} of {len(rows)} {what} differ from the ones built (zeroed or altered)"]
    return []


def load_row_digests(folder: Path, checksums: dict) -> np.ndarray:
    """The verified ``row_digests.npy`` of ``folder``, ``(n,)`` uint64.

    Raises:
        ValueError: it is missing or differs from its checksum.
    """
    problems = check_files(folder, checksums, [ROW_DIGESTS_FILE])
    if problems:
        raise ValueError(problems[0])
    return np.load(Path(folder) / ROW_DIGESTS_FILE, allow_pickle=False)


def _read_vectors(folder: Path, name: str) -> np.ndarray:
    """Every row of a vector file, ``(n, dim)`` float32.

    Raises:
        OSError / ValueError / KeyError / RuntimeError (FAISS): unreadable.
    """
    if name == FAISS_FILE:
        import faiss

        faiss_index = faiss.read_index(str(Path(folder) / name))
        return faiss_index.reconstruct_n(0, faiss_index.ntotal)
    with np.load(Path(folder) / name, allow_pickle=False) as z:
        return z["vectors"]


def verify_folder(folder: Path) -> tuple[list[str], dict]:
    """Check everything of the index in ``folder``: every file against its
    checksum, every FAISS row and every stored chunk vector against its
    digest. Reads the files only; loads no model.

    Returns:
        ``(problems, counts)``: one line per problem (empty: intact) and
        ``{"files": files checked, "vectors": FAISS rows checked}``.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    counts = {"files": 0, "vectors": 0}
    if manifest is None:
        return [f"{MANIFEST_FILE}: missing or unreadable (no index here)"], counts
    checksums = manifest.get(CHECKSUMS)
    if not isinstance(checksums, dict) or not checksums:
        return [f"{MANIFEST_FILE}: no checksums (built by an older ragqa; run ragqa index --rebuild)"], counts
    counts["files"] = len(checksums)
    problems = check_files(folder, checksums, small_files(checksums))
    try:
        digests = load_row_digests(folder, checksums)
    except (OSError, ValueError):
        digests = None  # listed above
    for name in sorted(VECTOR_FILES & set(checksums)):
        sized = check_files(folder, checksums, [name])  # size only
        if sized or digests is None:
            problems += sized or check_files(folder, checksums, [name], hash_vectors=True)
            continue
        try:
            vectors = _read_vectors(folder, name)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            problems.append(f"{name}: unreadable ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
            continue
        if len(vectors) != len(digests):
            problems.append(f"{name}: {len(vectors)} vectors, {len(digests)} when built")
            continue
        rows = check_rows(name, np.arange(len(vectors), dtype=np.int64), vectors, digests)
        if name == FAISS_FILE:
            counts["vectors"] = len(vectors)
        problems += rows or check_files(folder, checksums, [name], hash_vectors=True)
    return problems, counts
