"""Support code the stages share: settings, the contract, the warehouse and SQL runner, identifiers,
guards, editions and disclosure rules, the analyst export."""
