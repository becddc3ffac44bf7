/* model_file.h: a model file kept in storage, written by whoever has the file (an executor started
 * with it, `opml register`) and read by any executor that is asked for the model by its root
 * (docs/executor.md). It lives here, below the executor and the CLI, because both use it.
 *
 * A model file is kept as pieces of at most MODEL_FILE_PIECE bytes, each a tensor, and the
 * key-value pair  "exec/model/" ++ modelRoot(32)  ->  u64 file length (big-endian) ++ the pieces'
 * tensor roots. */
#ifndef OPML_STORAGE_MODEL_FILE_H
#define OPML_STORAGE_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "model.h"

#define MODEL_FILE_PIECE (32u << 20)
#define MODEL_FILE_KEY_PREFIX "exec/model/"

/* The tensor with this root as exactly `len` bytes (a malloc'd *data, never NULL). A tensor root
 * does not fix a length (docs/commitments.md: zero bytes past the data do not change it), so
 * storage may hold the same root with fewer bytes (zero-extended here) or more (accepted when
 * the extra bytes are zero). Returns 0, or an OPML_E_* code with the reason in err. */
int storage_fetch_exact(storage_client *st, const uint8_t root[32], size_t len, uint8_t **data, char *err,
                        size_t errlen);

/* Writes the model's file to storage as pieces and its record (above), so that any executor can
 * load the model by its root. Precondition: m was parsed or loaded from a file (m->file holds its
 * m->file_len bytes; a model assembled in memory has no file). Writing a model that is stored
 * already stores the same again. Returns 0, or -1 with the reason (the storage client's) in err. */
int model_file_publish(storage_client *st, const opml_model *m, char *err, size_t errlen);

/* The file recorded under this model root, its pieces fetched and joined (*file malloc'd, never
 * NULL; *len its length). The bytes are not parsed here: the caller checks that they are a model
 * with this root. Returns 0, or OPML_E_UNAVAILABLE (storage does not answer), OPML_E_NOT_FOUND (no
 * such record) or OPML_E_INTERNAL (a malformed record, a missing piece, out of memory), with the
 * reason in err. */
int model_file_fetch(storage_client *st, const uint8_t root[32], uint8_t **file, size_t *len, char *err,
                     size_t errlen);

#endif
