import os as o
from subprocess import call as c
f = o.system
f('id')
c(['id'])
