/* pbjson.h: any protobuf-c message as JSON, by walking its descriptor: what `opml events` prints
 * and what tools show of replies. Mapping (close to proto3's JSON mapping): field names as in the
 * .proto; 64-bit integers as decimal strings (JSON numbers lose precision past 2^53); bytes as
 * "0x" hex (hashes, addresses) rather than base64; enums by name; every field is present, unset
 * sub-messages as null; of a oneof, only the member that is set. */
#ifndef OPML_PBJSON_H
#define OPML_PBJSON_H

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

/* A new cJSON object for msg (free with cJSON_Delete), or NULL when out of memory. */
cJSON *pbjson_from_message(const ProtobufCMessage *msg);

#endif
