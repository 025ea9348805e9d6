/** Loopback only: the benchmark must not open ports to the network. */
export const HOST = '127.0.0.1';
