//! Live TUN devices (`/dev/net/tun`, IFF_TUN | IFF_NO_PI).
