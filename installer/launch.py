"""The bundle's entry point: the same as the `carehome-share` command."""

from carehome_share.app import main

raise SystemExit(main())
