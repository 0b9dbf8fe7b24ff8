from carehome_share.app import main

raise SystemExit(main())
