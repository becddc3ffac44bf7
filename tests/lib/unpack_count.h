/* unpack_count.h: counting the protobuf unpacks a test's threads make, so that "never unpacked" is
 * observed rather than inferred from a reply. A test linked with opml_unpack_count gets the link
 * option -Wl,--wrap=protobuf_c_message_unpack: every unpack in the binary (the runtime's included)
 * passes through this counter. Only the unpacks made on threads that called unpack_count_here()
 * are counted, by message type. */
#ifndef OPML_TEST_UNPACK_COUNT_H
#define OPML_TEST_UNPACK_COUNT_H

#include <protobuf-c/protobuf-c.h>

/* From now on, count the unpacks made on the calling thread. */
void unpack_count_here(void);

/* How many messages of this type the counted threads have unpacked so far. */
unsigned unpack_count(const ProtobufCMessageDescriptor *desc);

#endif
