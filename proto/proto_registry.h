/* proto_registry.h: every protobuf message the build compiled, by its full name ("opml.Envelope"),
 * so that a payload whose type arrives as text can be decoded without knowing it at compile time. */
#ifndef OPML_PROTO_REGISTRY_H
#define OPML_PROTO_REGISTRY_H

#include <protobuf-c/protobuf-c.h>

/* The descriptor of the message named `name` (package included), or NULL. */
const ProtobufCMessageDescriptor *proto_lookup(const char *name);

#endif
