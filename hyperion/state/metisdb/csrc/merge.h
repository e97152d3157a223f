/* BatchTrieUpdater: merges sorted changes into tries of one node log, a drop-in
 * twin of ``hyperion/state/metisdb/batchtrie.py`` (the same algorithm step for
 * step: the same ``store(id, record)`` calls in the same order, the same replaced
 * and cached ids). Read the Python module's docstring for the design.
 *
 * Inside a merge nothing is a Python object except what leaves it: items are
 * views (pointer + length) into held records, the caller's arguments or the
 * merge's arena, and node ids are pointers to their 8 raw bytes. Stored and
 * cached records are untrusted: every RLP read is bounds-checked, and bad data
 * raises BadTrieNode / CorruptDatabase / MissingTrieNode, never a crash. */
#ifndef METISDB_MERGE_H
#define METISDB_MERGE_H

#include "common.h"

extern PyTypeObject UpdaterType;

#endif
