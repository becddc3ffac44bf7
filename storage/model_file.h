/* model_file.h: a model kept in storage, in two forms, each written by whoever has the file and
 * read by whoever is asked for the model by its root alone. It lives here, below the executor, the
 * bisector and the CLI, because they all use it.
 *
 * - Its file (docs/executor.md), written by an executor started with it and by `opml register`,
 *   read by any executor: pieces of at most MODEL_FILE_PIECE bytes, each a tensor, and the
 *   key-value pair  "exec/model/" ++ modelRoot(32)  ->  u64 file length (big-endian) ++ the
 *   pieces' tensor roots.
 * - Its tensors (docs/storage.md), written by every bisector serving it, read by vmjudge when it
 *   builds a node's VM state: each node's descriptor and each weight, under its tensor root, and
 *   the key-value pair  "model/tensors/" ++ modelRoot(32)  ->  u32 count of tensors (big-endian).
 *
 * Publishing once. Storage is content addressed and never deletes a tensor, so each record is
 * written last, after every tensor it stands for is stored (and, by storage's rule, durable): a
 * record present means the whole model is there, and a publisher that finds it sends nothing more
 * (a 7B-shaped file is 2 GB: every actor re-sending it cost minutes). A publish cut short leaves
 * no record; the next one completes it, storing only what is missing. */
#ifndef OPML_STORAGE_MODEL_FILE_H
#define OPML_STORAGE_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "model.h"

#define MODEL_FILE_PIECE (32u << 20)
#define MODEL_FILE_KEY_PREFIX "exec/model/"
#define MODEL_TENSORS_KEY_PREFIX "model/tensors/"

/* The tensor with this root as exactly `len` bytes (a malloc'd *data, never NULL). A tensor root
 * does not fix a length (docs/commitments.md: zero bytes past the data do not change it), so
 * storage may hold the same root with fewer bytes (zero-extended here) or more (accepted when
 * the extra bytes are zero). Returns 0, or an OPML_E_* code with the reason in err. */
int storage_fetch_exact(storage_client *st, const uint8_t root[32], size_t len, uint8_t **data, char *err,
                        size_t errlen);

/* Writes the model's file to storage as pieces, then its record (above), so that any executor can
 * load the model by its root. When the record is there already and every piece it names is
 * stored, nothing is sent. Precondition: m was parsed or loaded from a file (m->file holds its
 * m->file_len bytes; a model assembled in memory has no file). *sent (when not NULL) is set to the
 * bytes sent to storage (0: published before). Returns 0, or -1 with the reason in err. */
int model_file_publish(storage_client *st, const opml_model *m, uint64_t *sent, char *err, size_t errlen);

/* Writes every node descriptor and weight of m to storage, then its record (above). When the
 * record is there, nothing is sent; otherwise each tensor storage holds already (a stat) is not
 * sent again. *sent (when not NULL) is set to the bytes sent. Returns 0, or -1 with the reason. */
int model_tensors_publish(storage_client *st, const opml_model *m, uint64_t *sent, char *err, size_t errlen);

/* The file recorded under this model root, its pieces fetched and joined (*file malloc'd, never
 * NULL; *len its length). The bytes are not parsed here: the caller checks that they are a model
 * with this root. Returns 0, or OPML_E_UNAVAILABLE (storage does not answer), OPML_E_NOT_FOUND (no
 * such record) or OPML_E_INTERNAL (a malformed record, a missing piece, out of memory), with the
 * reason in err. */
int model_file_fetch(storage_client *st, const uint8_t root[32], uint8_t **file, size_t *len, char *err,
                     size_t errlen);

#endif
