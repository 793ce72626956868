//! Classic libpcap capture files: reading and writing.
