# Deploy one data centre: `pyinfra -y inventories/<dc>.py deploys/site.py`.
# The deploy itself is esdr.deploy.site (esdr/deploy.py); `esdr init` writes this same file.
from esdr.deploy import site

site()
