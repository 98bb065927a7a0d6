"""Channel media: downloading the images, voice and video citizens send through WeChat,
Weibo, 12345 and Open311 (``download``), safely (``fetch``, ``sniff``), queued from intake by
an event hook (``queue``). Each channel's ``ChannelSpec.media`` says how its media are fetched."""
