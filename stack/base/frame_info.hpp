// FrameInfo: what a device knows about a frame beyond its bytes — the checksum and segmentation
// offloads of a virtio-net header (a TAP opened with IFF_VNET_HDR). A default FrameInfo is a
// plain frame: its checksums are complete and it is sent as it is.
//
// Receive: the kernel's own TCP and UDP leave their checksums to a device that offers to fill
// them (VIRTIO_NET_HDR_F_NEEDS_CSUM), and the frame never crossed a wire, so the transport
// checksum is not checked (checksum_trusted). It may also be one large TCP segment the kernel
// did not cut (GSO): the stack takes it as it is.
//
// Transmit: the stack may hand the device one TCP segment of up to 64 KiB (gso_size > 0) that
// the device cuts into segments of gso_size payload bytes each, as TSO hardware does; its TCP
// checksum then holds only the pseudo-header sum (checksum_partial), which the device completes
// at csum_start + csum_offset. The stack does so only on interfaces configured with
// InterfaceConfig::gso_max_size, whose driver carries the offload through.
#pragma once

#include <cstdint>

namespace tapir {

struct FrameInfo {
  bool checksum_trusted = false;  // receive: the transport checksum needs no checking
  // The checksum field (at csum_start + csum_offset) holds only the pseudo-header sum: the
  // kernel left it so (receive), or the device is to complete it (transmit).
  bool checksum_partial = false;
  std::uint16_t gso_size = 0;     // transmit: cut into segments of this much payload; 0: do not
  std::uint16_t csum_start = 0;   // from the start of the frame: where the summing starts
  std::uint16_t csum_offset = 0;  // from csum_start: where the checksum field is

  bool plain() const { return !checksum_partial && gso_size == 0; }
};

}  // namespace tapir
