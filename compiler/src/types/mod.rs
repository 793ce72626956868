//! nft datatypes: parse symbols and literals into typed values; print them canonically.
