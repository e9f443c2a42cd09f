import sys

from simulator.client.traffic import main

sys.exit(main())
