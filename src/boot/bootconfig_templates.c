/*
 * bootconfig_templates.c — MAAS 3.4.0's boot-config templates, verbatim
 * (src/provisioningserver/templates/{pxe,uefi,ipxe}/config.*.template at
 * tag 3.4.0, extracted with git show; symlinked templates are aliases).
 * The text must stay byte-identical to MAAS's: configs are compared with
 * MAAS's own output (tests/unit/data/boot-golden).  Generated once; edit
 * only to follow a MAAS change.
 */
#include <stddef.h>

#include "bootconfig.h"
#include "rackd.h"

const struct bootconfig_template bootconfig_templates[] = {
	{ "pxe", "commissioning.arm64", "commissioning.armhf", NULL },
	{ "pxe", "commissioning.arm64.xgene-uboot-mustang", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  {{# SAY is not implemented in U-Boot }}\n"
	    "  KERNEL {{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | initrd_path }}\n"
	    "  FDT {{kernel_params | dtb_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n"
	    "  IPAPPEND 2\n" },
	{ "pxe", "commissioning.armhf", "install.armhf", NULL },
	{ "pxe", "commissioning.ppc64el", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  KERNEL {{kernel_params | fs_host}}{{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | fs_host}}{{kernel_params | initrd_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n" },
	{ "pxe", "commissioning.s390x", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  KERNEL {{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | initrd_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n" },
	{ "pxe", "commissioning", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  SAY Booting under MAAS direction...\n"
	    "  SAY {{kernel_params() | kernel_command}}\n"
	    "  KERNEL {{kernel_params | fs_host}}{{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | fs_host}}{{kernel_params | initrd_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n"
	    "  IPAPPEND 2\n" },
	{ "pxe", "enlist", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "SAY Booting under MAAS direction...\n"
	    "SAY {{kernel_params() | kernel_command}}\n"
	    "\n"
	    "LABEL execute\n"
	    "  KERNEL ifcpu64.c32\n"
	    "  APPEND amd64 -- i386\n"
	    "\n"
	    "LABEL amd64\n"
	    "  KERNEL {{kernel_params | fs_host}}{{kernel_params(arch=\"amd64\") | kernel_path }}\n"
	    "  INITRD {{kernel_params | fs_host}}{{kernel_params(arch=\"amd64\") | initrd_path }}\n"
	    "  APPEND {{kernel_params(arch=\"amd64\") | kernel_command}}\n"
	    "  IPAPPEND 2\n"
	    "\n"
	    "LABEL i386\n"
	    "  KERNEL {{kernel_params | fs_host}}{{kernel_params(arch=\"i386\") | kernel_path }}\n"
	    "  INITRD {{kernel_params | fs_host}}{{kernel_params(arch=\"i386\") | initrd_path }}\n"
	    "  APPEND {{kernel_params(arch=\"i386\") | kernel_command}}\n" },
	{ "pxe", "ephemeral.amd64.generic", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  SAY booting ephemeral image...\n"
	    "  SAY extra={{ kernel_params.extra_opts }}\n"
	    "  KERNEL {{kernel_params | kernel_path }}\n"
	    "  APPEND initrd={{kernel_params | initrd_path }} {{ kernel_params.extra_opts }} maas_url={{kernel_params.preseed_url }}\n"
	    "\n" },
	{ "pxe", "install.arm64", "install.armhf", NULL },
	{ "pxe", "install.arm64.xgene-uboot-mustang", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  {{# SAY is not implemented in U-Boot }}\n"
	    "  KERNEL {{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | initrd_path }}\n"
	    "  FDT {{kernel_params | dtb_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n"
	    "  IPAPPEND 2\n" },
	{ "pxe", "install.armhf", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  {{# SAY is not implemented in U-Boot }}\n"
	    "  KERNEL {{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | initrd_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n"
	    "  IPAPPEND 2\n" },
	{ "pxe", "install.ppc64el", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  KERNEL {{kernel_params | fs_host}}{{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | fs_host}}{{kernel_params | initrd_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n" },
	{ "pxe", "install.s390x", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  KERNEL {{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | initrd_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n" },
	{ "pxe", "install", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  SAY Booting under MAAS direction...\n"
	    "  SAY {{kernel_params | kernel_command}}\n"
	    "  KERNEL {{kernel_params | fs_host}}{{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | fs_host}}{{kernel_params | initrd_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n"
	    "  IPAPPEND 2\n" },
	{ "pxe", "local.amd64", "local.i386", NULL },
	{ "pxe", "local.i386", NULL,
	    "DEFAULT local\n"
	    "\n"
	    "LABEL local\n"
	    "  SAY Booting local disk ...\n"
	    "  KERNEL chain.c32\n"
	    "  APPEND hd0\n" },
	{ "pxe", "local", NULL,
	    "DEFAULT local\n"
	    "\n"
	    "LABEL local\n"
	    "  LOCALBOOT 0\n" },
	{ "pxe", "poweroff", NULL,
	    "DEFAULT poweroff\n"
	    "\n"
	    "LABEL poweroff\n"
	    "  {{poweroff}}\n" },
	{ "pxe", "xinstall.arm64", "xinstall.armhf", NULL },
	{ "pxe", "xinstall.arm64.xgene-uboot-mustang", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  {{# SAY is not implemented in U-Boot }}\n"
	    "  KERNEL {{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | initrd_path }}\n"
	    "  FDT {{kernel_params | dtb_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n"
	    "  IPAPPEND 2\n" },
	{ "pxe", "xinstall.armhf", "install.armhf", NULL },
	{ "pxe", "xinstall.ppc64el", "install.ppc64el", NULL },
	{ "pxe", "xinstall.s390x", "install.s390x", NULL },
	{ "pxe", "xinstall", NULL,
	    "DEFAULT execute\n"
	    "\n"
	    "LABEL execute\n"
	    "  SAY Booting under MAAS direction...\n"
	    "  SAY {{kernel_params() | kernel_command}}\n"
	    "  KERNEL {{kernel_params | fs_host}}{{kernel_params | kernel_path }}\n"
	    "  INITRD {{kernel_params | fs_host}}{{kernel_params | initrd_path }}\n"
	    "  APPEND {{kernel_params | kernel_command}}\n"
	    "  IPAPPEND 2\n" },
	{ "uefi", "commissioning", NULL,
	    "{{if debug}}set debug=\"all\"{{endif}}\n"
	    "set default=\"0\"\n"
	    "set timeout=0\n"
	    "\n"
	    "menuentry 'Ephemeral' {\n"
	    "    echo   'Booting under MAAS direction...'\n"
	    "    linux  {{fs_efihost}}{{kernel_params | kernel_path }} {{kernel_params | kernel_command}} BOOTIF=01-${net_default_mac}\n"
	    "    initrd {{fs_efihost}}{{kernel_params | initrd_path }}\n"
	    "}\n" },
	{ "uefi", "enlist", "commissioning", NULL },
	{ "uefi", "local.amd64", NULL,
	    "{{if debug}}set debug=\"all\"{{endif}}\n"
	    "set default=\"0\"\n"
	    "set timeout=0\n"
	    "\n"
	    "menuentry 'Local' {\n"
	    "    echo 'Booting local disk...'\n"
	    "    # The bootloader paths list for secure boot is shortened because of LP:2022084\n"
	    "    for bootloader in \\\n"
	    "            boot/bootx64.efi \\\n"
	    "            ubuntu/shimx64.efi \\\n"
	    "            ubuntu/grubx64.efi \\\n"
	    "            Microsoft/Boot/bootmgfw.efi; do\n"
	    "        search --set=root --file /efi/$bootloader\n"
	    "        if [ $? -eq 0 ]; then\n"
	    "            chainloader /efi/$bootloader\n"
	    "            boot\n"
	    "        fi\n"
	    "    done\n"
	    "\n"
	    "    if [ \"${shim_lock}\" != \"y\" ]; then\n"
	    "        echo 'Secure boot is disabled, trying chainloader...'\n"
	    "        for bootloader in \\\n"
	    "                centos/shimx64.efi \\\n"
	    "                centos/grubx64.efi \\\n"
	    "                redhat/shimx64.efi \\\n"
	    "                redhat/grubx64.efi \\\n"
	    "                rhel/shimx64.efi \\\n"
	    "                rhel/grubx64.efi \\\n"
	    "                suse/shim.efi \\\n"
	    "                suse/grubx64.efi \\\n"
	    "                red/grubx64.efi; do\n"
	    "            search --set=root --file /efi/$bootloader\n"
	    "            if [ $? -eq 0 ]; then\n"
	    "                chainloader /efi/$bootloader\n"
	    "                boot\n"
	    "            fi\n"
	    "        done\n"
	    "    fi\n"
	    "\n"
	    "    # If no bootloader is found exit and allow the next device to boot.\n"
	    "    exit 1\n"
	    "}\n" },
	{ "uefi", "local.arm64", NULL,
	    "{{if debug}}set debug=\"all\"{{endif}}\n"
	    "set default=\"0\"\n"
	    "set timeout=0\n"
	    "\n"
	    "menuentry 'Local' {\n"
	    "    echo 'Booting local disk...'\n"
	    "    search --set=root --file /efi/ubuntu/grubaa64.efi\n"
	    "    if [ $? -eq 0 ]; then\n"
	    "        chainloader /efi/ubuntu/grubaa64.efi\n"
	    "        boot\n"
	    "    fi\n"
	    "    # This is the default bootloader location according to the UEFI spec.\n"
	    "    search --set=root --file /efi/boot/bootaa64.efi\n"
	    "    if [ $? -eq 0 ]; then\n"
	    "        chainloader /efi/boot/bootaa64.efi\n"
	    "        boot\n"
	    "    fi\n"
	    "    # If no bootloader is found exit and allow the next device to boot.\n"
	    "    exit\n"
	    "}\n" },
	{ "uefi", "local.ppc64el", NULL,
	    "{{if debug}}set debug=\"all\"{{endif}}\n"
	    "set default=\"0\"\n"
	    "set timeout=0\n"
	    "\n"
	    "menuentry 'Local' {\n"
	    "    echo 'Booting local disk...'\n"
	    "    search --set=root --file /boot/grub/grub.cfg\n"
	    "    configfile /boot/grub/grub.cfg\n"
	    "}\n" },
	{ "uefi", "poweroff", NULL,
	    "{{if debug}}set debug=\"all\"{{endif}}\n"
	    "set default=\"0\"\n"
	    "set timeout=0\n"
	    "\n"
	    "menuentry 'Power Off' {\n"
	    "    echo 'Powering off...'\n"
	    "    halt\n"
	    "}\n" },
	{ "uefi", "xinstall", "commissioning", NULL },
	{ "ipxe", "commissioning", "install", NULL },
	{ "ipxe", "enlist", "install", NULL },
	{ "ipxe", "ephemeral", NULL,
	    "#!ipxe\n"
	    "kernel {{kernel_params | fs_host}}{{kernel_params | kernel_path}}\n"
	    "imgargs {{kernel_params | kernel_name}} {{kernel_params | kernel_command}} maas_url={{kernel_params.preseed_url }} BOOTIF=01-${net0/mac}\n"
	    "initrd {{kernel_params | fs_host}}{{kernel_params | initrd_path}}\n"
	    "boot\n" },
	{ "ipxe", "install", NULL,
	    "#!ipxe\n"
	    "kernel {{kernel_params | fs_host}}{{kernel_params | kernel_path}}\n"
	    "imgargs {{kernel_params | kernel_name}} {{kernel_params | kernel_command}} BOOTIF=01-${net0/mac}\n"
	    "initrd {{kernel_params | fs_host}}{{kernel_params | initrd_path}}\n"
	    "boot\n" },
	{ "ipxe", "local", NULL,
	    "#!ipxe\n"
	    "# Boot the locally attached hard drives. On failure try the next locally\n"
	    "# attached hard drive. Fail on the last hard drive, if booting fails.\n"
	    "sanboot --no-describe --drive 0x80 ||\n"
	    "sanboot --no-describe --drive 0x81 ||\n"
	    "sanboot --no-describe --drive 0x82 ||\n"
	    "sanboot --no-describe --drive 0x83\n" },
	{ "ipxe", "poweroff", NULL,
	    "#!ipxe\n"
	    "poweroff\n"
	    "\n" },
	{ "ipxe", "xinstall", "install", NULL },
};
const size_t bootconfig_ntemplates = RACKD_NELEM(bootconfig_templates);
