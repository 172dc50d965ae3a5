"""The contest workbook (竞赛数据包): one .xlsx holding a whole edition, in and out (../shared/WORKBOOK.md).

Reads and writes every stage; nothing imports it but the CLI and its own views."""
