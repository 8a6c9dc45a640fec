"""Radio link to the housing office: AT channel, PDU codec, SMS outbox."""
