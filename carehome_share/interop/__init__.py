"""Exchange formats other systems read (HL7 FHIR), built from service read-models. No Qt, no SQL."""
