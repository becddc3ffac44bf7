/* unpack_count.c: the wrapped protobuf_c_message_unpack of unpack_count.h. */
#include "unpack_count.h"

#include <pthread.h>

/* message types counted at once: a test watches two or three */
#define UNPACK_TYPES 16

ProtobufCMessage *__real_protobuf_c_message_unpack(const ProtobufCMessageDescriptor *desc,
                                                   ProtobufCAllocator *allocator, size_t len, const uint8_t *data);
ProtobufCMessage *__wrap_protobuf_c_message_unpack(const ProtobufCMessageDescriptor *desc,
                                                   ProtobufCAllocator *allocator, size_t len, const uint8_t *data);

static __thread int counted_thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const ProtobufCMessageDescriptor *desc;
    unsigned n;
} counts[UNPACK_TYPES];

void unpack_count_here(void) { counted_thread = 1; }

unsigned unpack_count(const ProtobufCMessageDescriptor *desc) {
    unsigned n = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < UNPACK_TYPES; i++)
        if (counts[i].desc == desc) n = counts[i].n;
    pthread_mutex_unlock(&lock);
    return n;
}

ProtobufCMessage *__wrap_protobuf_c_message_unpack(const ProtobufCMessageDescriptor *desc,
                                                   ProtobufCAllocator *allocator, size_t len, const uint8_t *data) {
    if (counted_thread) {
        pthread_mutex_lock(&lock);
        int i = 0;
        while (i < UNPACK_TYPES && counts[i].desc && counts[i].desc != desc) i++;
        if (i < UNPACK_TYPES) counts[i].desc = desc, counts[i].n++; /* past UNPACK_TYPES types: not counted */
        pthread_mutex_unlock(&lock);
    }
    return __real_protobuf_c_message_unpack(desc, allocator, len, data);
}
