import sys

from simulator.world.world import main

sys.exit(main())
