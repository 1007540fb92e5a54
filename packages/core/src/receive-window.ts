/**
 * The HTTP/2 receive window a ctm client on grpc-js asks for, per stream and per connection.
 * grpc-js keeps HTTP/2's 64 KiB and, unlike gRPC's Go and C cores, never grows it: a large answer
 * (a Snapshot page, a Watch replay) then crosses 64 KiB at a time, each step waiting for the
 * client's event loop to send a window update. That halved a listing's pace on a busy client
 * here, and caps any answer at 1.3 MB/s over a 50 ms round trip. 4 MiB, the largest message such
 * a client takes by default, lets one answer cross without waiting on its window.
 */
export const RECEIVE_WINDOW = { "grpc-node.flow_control_window": 4 * 1024 * 1024 } as const;
