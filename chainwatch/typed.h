/* typed.h: an event's decoded parameters (the JSON object contract_decode_log makes) as the typed
 * protobuf message "opml.Chain<Event>" of proto/chain.proto, when the build has one. The message
 * is written in protobuf's wire format straight from its descriptor: each field takes the
 * parameter whose Solidity name is the field's name in camelCase (task_id <- taskId), converted by
 * the field's type (uint64/uint32 <- decimal, range-checked; string <- text; bytes <- 0x hex; bool;
 * nested message <- tuple object; repeated <- array), and the result is checked by unpacking it. */
#ifndef OPML_CHAIN_TYPED_H
#define OPML_CHAIN_TYPED_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Returns 1 with type ("opml.ChainTaskRequested", room for 128 bytes) and *payload (malloc'd),
 * 0 when no message is defined for `event`, -1 with a reason in err when args do not fit it. */
int typed_event(const char *event, const cJSON *args, char type[128], uint8_t **payload, size_t *len, char *err,
                size_t errlen);

#endif
