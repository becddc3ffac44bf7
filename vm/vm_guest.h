/* vm_guest.h: the pinned guest program (vm/guest/, docs/vm-guest.md), compiled into opml_vm:
 * its flat image, loaded into slot 0 for every node run, and its tensor root, the guest root the
 * contract registers. The build fails unless the image's root is the one in guest/GUEST_ROOT. */
#ifndef OPML_VM_GUEST_H
#define OPML_VM_GUEST_H

#include <stddef.h>
#include <stdint.h>

extern const uint8_t vm_guest_image[];
extern const size_t vm_guest_image_len;
extern const uint8_t vm_guest_root[32];

#endif
